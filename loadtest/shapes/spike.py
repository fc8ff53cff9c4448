"""Spike: a quarter of QUESTLOG_LOAD_USERS, then all of them at once for the middle fifth
of the run, then a quarter again (QUESTLOG_LOAD_SECONDS in all)."""

import os

from locust import LoadTestShape

USERS = int(os.environ.get("QUESTLOG_LOAD_USERS", "50"))
SECONDS = float(os.environ.get("QUESTLOG_LOAD_SECONDS", "120"))


class Spike(LoadTestShape):
    def tick(self) -> tuple[int, float] | None:
        elapsed = self.get_run_time()
        if elapsed > SECONDS:
            return None
        in_spike = 0.4 * SECONDS <= elapsed < 0.6 * SECONDS
        return (USERS, float(USERS)) if in_spike else (max(1, USERS // 4), float(USERS))

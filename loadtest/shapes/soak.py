"""Soak: QUESTLOG_LOAD_USERS users, started within a minute and held for
QUESTLOG_LOAD_SECONDS (default an hour), to find leaks and slow drift."""

import os

from locust import LoadTestShape

USERS = int(os.environ.get("QUESTLOG_LOAD_USERS", "50"))
SECONDS = float(os.environ.get("QUESTLOG_LOAD_SECONDS", "3600"))


class Soak(LoadTestShape):
    def tick(self) -> tuple[int, float] | None:
        if self.get_run_time() > SECONDS:
            return None
        return USERS, max(1.0, USERS / 60)

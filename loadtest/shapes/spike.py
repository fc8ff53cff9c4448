"""Spike: a quarter of QUESTLOG_LOAD_USERS, then all of them at once for the middle fifth
of the run, then a quarter again (QUESTLOG_LOAD_SECONDS in all)."""

from locust import LoadTestShape
from questlog_settings import get_settings

USERS = get_settings().load.users
SECONDS = get_settings().load.seconds or 120


class Spike(LoadTestShape):
    def tick(self) -> tuple[int, float] | None:
        elapsed = self.get_run_time()
        if elapsed > SECONDS:
            return None
        in_spike = 0.4 * SECONDS <= elapsed < 0.6 * SECONDS
        return (USERS, float(USERS)) if in_spike else (max(1, USERS // 4), float(USERS))

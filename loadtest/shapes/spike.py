"""Spike: a quarter of QUESTLOG__LOAD__USERS, then all of them at once for the middle fifth
of the run, then a quarter again (QUESTLOG__LOAD__SECONDS in all)."""

from locust import LoadTestShape
from questlog_settings import get_load_settings

USERS = get_load_settings().load.users
SECONDS = get_load_settings().load.seconds or 120


class Spike(LoadTestShape):
    def tick(self) -> tuple[int, float] | None:
        elapsed = self.get_run_time()
        if elapsed > SECONDS:
            return None
        in_spike = 0.4 * SECONDS <= elapsed < 0.6 * SECONDS
        return (USERS, float(USERS)) if in_spike else (max(1, USERS // 4), float(USERS))

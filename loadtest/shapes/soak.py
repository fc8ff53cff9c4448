"""Soak: QUESTLOG_LOAD_USERS users, started within a minute and held for
QUESTLOG_LOAD_SECONDS (default an hour), to find leaks and slow drift."""

from locust import LoadTestShape
from questlog_settings import get_settings

USERS = get_settings().load.users
SECONDS = get_settings().load.seconds or 3600


class Soak(LoadTestShape):
    def tick(self) -> tuple[int, float] | None:
        if self.get_run_time() > SECONDS:
            return None
        return USERS, max(1.0, USERS / 60)

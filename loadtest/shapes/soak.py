"""Soak: QUESTLOG__LOAD__USERS users, started within a minute and held for
QUESTLOG__LOAD__SECONDS (default an hour), to find leaks and slow drift."""

from locust import LoadTestShape
from questlog_settings import get_load_settings

USERS = get_load_settings().load.users
SECONDS = get_load_settings().load.seconds or 3600


class Soak(LoadTestShape):
    def tick(self) -> tuple[int, float] | None:
        if self.get_run_time() > SECONDS:
            return None
        return USERS, max(1.0, USERS / 60)

"""Ramp: users grow in ten steps to QUESTLOG__LOAD__USERS over the first third of the run
(QUESTLOG__LOAD__SECONDS), then hold."""

import math

from locust import LoadTestShape
from questlog_settings import get_load_settings

USERS = get_load_settings().load.users
SECONDS = get_load_settings().load.seconds or 120
STEPS = 10


class Ramp(LoadTestShape):
    def tick(self) -> tuple[int, float] | None:
        elapsed = self.get_run_time()
        if elapsed > SECONDS:
            return None
        step = min(STEPS, math.floor(elapsed / (SECONDS / 3) * STEPS) + 1)
        return max(1, round(USERS * step / STEPS)), float(USERS)

"""Rate limits on the event routes, per client address and per write key (the ``limits``
library's sliding window counters, in "100/second;2000/minute" notation).

The address is checked before the key, so a flood of requests with no key or bad ones is
answered 429 before each costs a key lookup. Counts are kept in this process's memory:
each replica limits on its own, so a deployment of N replicas takes up to N times a limit.
(Refusals are answered after a delay: dependencies.py, admit.)
"""

import math
import time

from fastapi import HTTPException
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from questlog_ingest.metrics import RATE_LIMITED

WHAT = {"address": "client address", "key": "write key"}


class RateLimits:
    def __init__(self, per_address: str, per_key: str) -> None:
        self.limits: dict[str, list[RateLimitItem]] = {
            "address": parse_many(per_address) if per_address else [],
            "key": parse_many(per_key) if per_key else [],
        }
        self.limiter = SlidingWindowCounterRateLimiter(MemoryStorage())

    def take(self, kind: str, identity: str) -> None:
        """Count a request of ``identity`` (an address, a key's name); 429 with Retry-After
        when it is over one of the limits of its ``kind``."""
        for limit in self.limits[kind]:
            if not self.limiter.hit(limit, kind, identity):
                RATE_LIMITED.labels(kind).inc()
                reset_at, _ = self.limiter.get_window_stats(limit, kind, identity)
                retry_after = max(1, math.ceil(reset_at - time.time()))
                raise HTTPException(
                    429,
                    f"over the rate limit of {limit} per {WHAT[kind]}; retry after {retry_after} s",
                    headers={"Retry-After": str(retry_after)},
                )

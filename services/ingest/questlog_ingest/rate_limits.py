"""Rate limits on the event routes, per client address and per write key (the ``limits``
library's sliding window counters, in "100/second;2000/minute" notation).

The address is checked before the key, so a flood of requests with no key or bad ones is
answered 429 before each costs a key lookup. The 429 is sent only after a delay, so a
client that keeps its connections busy with refused requests slows itself down instead of
the process: a flood from a few connections is held to a few requests a second. Counts
are kept in this process's memory: each replica limits on its own, so a deployment of N
replicas takes up to N times a limit.
"""

import asyncio
import math
import time

from fastapi import HTTPException
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from questlog_ingest.metrics import RATE_LIMITED

WHAT = {"address": "client address", "key": "write key"}


class RateLimits:
    def __init__(self, per_address: str, per_key: str, refusal_delay_seconds: float) -> None:
        self.limits: dict[str, list[RateLimitItem]] = {
            "address": parse_many(per_address) if per_address else [],
            "key": parse_many(per_key) if per_key else [],
        }
        self.limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        self.refusal_delay_seconds = refusal_delay_seconds

    async def take(self, kind: str, identity: str) -> None:
        """Count a request of ``identity`` (an address, a key's name); 429 with Retry-After
        when it is over one of the limits of its ``kind``."""
        for limit in self.limits[kind]:
            if not self.limiter.hit(limit, kind, identity):
                RATE_LIMITED.labels(kind).inc()
                await asyncio.sleep(self.refusal_delay_seconds)
                reset_at, _ = self.limiter.get_window_stats(limit, kind, identity)
                retry_after = max(1, math.ceil(reset_at - time.time()))
                raise HTTPException(
                    429,
                    f"over the rate limit of {limit} per {WHAT[kind]}; retry after {retry_after} s",
                    headers={"Retry-After": str(retry_after)},
                )

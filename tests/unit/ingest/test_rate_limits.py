"""Rate limits: a burst over a limit is refused with 429 and Retry-After, per identity,
and counted in the metrics."""

import pytest
from fastapi import HTTPException
from prometheus_client import REGISTRY
from questlog_ingest.rate_limits import RateLimits


def refused(kind: str) -> float:
    return REGISTRY.get_sample_value("questlog_rate_limited_total", {"limit": kind}) or 0.0


def test_a_burst_over_the_limit_is_refused_with_retry_after() -> None:
    limits = RateLimits(per_address="3/minute", per_key="")
    before = refused("address")
    for _ in range(3):
        limits.take("address", "203.0.113.77")
    with pytest.raises(HTTPException) as over:
        limits.take("address", "203.0.113.77")
    assert over.value.status_code == 429
    assert over.value.headers is not None
    assert 1 <= int(over.value.headers["Retry-After"]) <= 60
    assert "3 per 1 minute per client address" in over.value.detail
    assert refused("address") == before + 1
    limits.take("address", "198.51.100.7")  # another client has its own count


def test_every_limit_counts_and_none_is_no_limit() -> None:
    limits = RateLimits(per_address="", per_key="100/second;2/hour")
    for _ in range(1000):
        limits.take("address", "203.0.113.77")
    limits.take("key", "game-server")
    limits.take("key", "game-server")
    with pytest.raises(HTTPException, match="2 per 1 hour per write key"):
        limits.take("key", "game-server")

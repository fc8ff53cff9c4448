"""The running stack, as the benchmarks see it."""

import time

from questlog_catalog import EVENTS_TOPIC

from questlog.settings import Settings
from questlog.stack.components import Stream
from questlog.stack.probes import prometheus_value, topic_ends


def stream_metric(settings: Settings, name: str) -> float:
    return prometheus_value(Stream(settings).endpoint, name, timeout=10)


def wait_until_caught_up(settings: Settings, timeout: float = 600) -> None:
    """Wait until the streaming app has landed what Kafka's events topic holds now, so that
    what it still has to do does not share the cores with what is measured next."""
    target = sum(topic_ends(settings.kafka.bootstrap, EVENTS_TOPIC).values())
    deadline = time.monotonic() + timeout
    # NaN until the query first reports (the comparison is then false).
    while not stream_metric(settings, "questlog_stream_kafka_offsets_read") >= target:
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: the streaming app did not catch up within {timeout:.0f} s")
        time.sleep(1)

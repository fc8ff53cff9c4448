"""The running stack, as the benchmarks see it."""

import argparse
import time

import httpx
from questlog_catalog import EVENTS_TOPIC

from questlog.settings import Settings, get_settings
from questlog.stack import lifecycle, write_key
from questlog.stack.components import Stream
from questlog.stack.probes import prometheus_value, topic_ends


def running_stack() -> Settings:
    """The local stack's settings once it runs (started if it is not), with its write key
    given to this process and its children, as the ``questlog`` command gives it."""
    settings = get_settings()
    lifecycle.up(settings)
    write_key.export(settings)
    return settings


def expect(response: httpx.Response, status: int, what: str) -> httpx.Response:
    """``response``, when it has ``status``; else the benchmark stops, saying what was
    answered instead."""
    if response.status_code != status:
        raise SystemExit(
            f"bench: {what} was answered {response.status_code}, not {status}: "
            f"{response.text[:300]}"
        )
    return response


def settle(settings: Settings, args: argparse.Namespace) -> None:
    """Before a measurement, wait until the stream has caught up (``wait_until_caught_up``);
    a quick run (``--quick``), whose figures mean nothing, goes on at once."""
    if not args.quick:
        wait_until_caught_up(settings)


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

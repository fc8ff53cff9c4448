"""The stack's promises: a second `up` is a no-op, `status` tells the truth, state survives
`down`/`up`, and the whole stack idles within its memory budget."""

import subprocess
import sys
import time
from typing import Any

from confluent_kafka import Consumer

from questlog.settings import Settings
from questlog.stack import lifecycle, supervisor
from questlog.stack.probes import kafka_topics
from tests.helpers import publish, unique

MEMORY_BUDGET = 6 * 2**30


def questlog(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "questlog.cli", *args], capture_output=True, text=True, timeout=600
    )


def test_second_up_is_a_no_op(stack: Settings) -> None:
    before = {s.name: s.pid for s in lifecycle.status(stack)}
    result = questlog("up")
    assert result.returncode == 0, result.stderr
    assert "The stack is already running." in result.stdout
    assert "Started" not in result.stdout
    assert {s.name: s.pid for s in lifecycle.status(stack)} == before


def test_status_reports_every_component_within_the_memory_budget(stack: Settings) -> None:
    statuses = lifecycle.status(stack)
    assert [s.name for s in statuses] == [
        "kafka",
        "metastore",
        "trino",
        "registry",
        "api",
        "stream",
        "canary",
        "prometheus",
    ]
    assert all(s.ready and s.pid for s in statuses), statuses
    total = sum(s.rss_bytes for s in statuses)
    print(
        f"stack RSS: {total / 2**30:.2f} GiB "
        + ", ".join(f"{s.name} {s.rss_bytes / 2**20:.0f} MiB" for s in statuses)
    )
    assert total < MEMORY_BUDGET
    result = questlog("status")
    assert result.returncode == 0
    assert result.stdout.count(" up ") == len(statuses), result.stdout


def test_state_survives_down_and_up(stack: Settings, trino: Any) -> None:
    topic, table = unique("durable"), unique("durable")
    assert publish(stack.kafka.bootstrap, topic, [("player-1", "kept across restarts")]) == 1
    trino(f"CREATE TABLE hive.default.{table} AS SELECT * FROM (VALUES (1), (2), (3)) t(n)")

    assert questlog("down").returncode == 0
    statuses = lifecycle.status(stack)
    assert not any(s.pid for s in statuses)
    ports = (
        stack.kafka.port,
        stack.metastore.port,
        stack.trino.port,
        stack.api.port,
        stack.stream.metrics_port,
    )
    for port in ports:
        assert supervisor.port_owner(stack.host, port) is None, f"port {port} still taken"

    started = time.monotonic()
    result = questlog("up")
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"up after down took {time.monotonic() - started:.0f} s")

    assert topic in kafka_topics(stack.kafka.bootstrap)
    consumer = Consumer(
        {
            "bootstrap.servers": stack.kafka.bootstrap,
            "group.id": unique("g"),
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    try:
        message = None
        deadline = time.monotonic() + 60
        while message is None and time.monotonic() < deadline:
            message = consumer.poll(1.0)
        assert message is not None and message.value() == b"kept across restarts"
    finally:
        consumer.close()
    assert trino(f"SELECT sum(n) FROM hive.default.{table}") == [[6]]

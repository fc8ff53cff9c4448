"""Small helpers shared by the unit and integration tests."""

import hashlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from confluent_kafka import KafkaError, Message, Producer
from questlog_registry.keys import opened
from questlog_registry.models import Fitting, OutboxEvent, Pilot, WriteKey
from questlog_registry.store import Registry
from questlog_settings import ApiSettings
from sqlalchemy import func, select

from questlog.stack.components import API_COMMAND, REGISTRY_COMMAND
from questlog.stack.probes import topic_ends


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_service(
    command: list[str], environment: dict[str, str]
) -> tuple["subprocess.Popen[bytes]", str]:
    """A service's server process (``command`` after the interpreter), started as the stack
    starts it with ``environment`` added; returned with its URL once it answers."""
    port = str(free_port())
    command = [sys.executable, "-m", *command, "--host", "127.0.0.1", "--port", port]
    env = {**os.environ, **environment}
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=2)
            return process, url
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"{command[2]} did not answer at {url}") from None
            time.sleep(0.2)


def start_api(environment: dict[str, str]) -> tuple["subprocess.Popen[bytes]", str]:
    """The API's server process."""
    return start_service(API_COMMAND, environment)


def start_registry(environment: dict[str, str]) -> tuple["subprocess.Popen[bytes]", str]:
    """The pilot registry's server process."""
    return start_service(REGISTRY_COMMAND, environment)


def stop(process: "subprocess.Popen[bytes]") -> None:
    process.terminate()
    process.wait(timeout=30)


def properties(text: str) -> dict[str, str]:
    """The ``key=value`` lines of a Java properties file (Trino's, Kafka's)."""
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def new_write_key(database_url: str, name: str = "tests", operator: bool = False) -> str:
    """A write key (an operator's, if ``operator``) created in the registry's database at
    ``database_url`` (migrated first)."""
    with opened(database_url) as keys:
        return keys.create(name, operator)


# The registry's rows the tests add (children before their parents).
REGISTRY_ROWS = (Fitting, Pilot, OutboxEvent, WriteKey)


def last_ids(registry: Registry) -> dict[type, int]:
    """The last id of each of the registry's tables: what a change would raise."""
    with registry.session() as session:
        return {model: session.scalar(select(func.max(model.id))) or 0 for model in REGISTRY_ROWS}


def with_api(settings: ApiSettings, **changes: Any) -> ApiSettings:
    """``settings`` with some of the ingest API's settings changed."""
    return settings.model_copy(update={"api": settings.api.model_copy(update=changes)})


def unique(prefix: str) -> str:
    """A name no earlier run used, so tests never see each other's topics or tables."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def read_topic(
    bootstrap: str, topic: str, timeout: float = 30.0, since: dict[int, int] | None = None
) -> list[tuple[str, bytes]]:
    """``(key, value)`` of every record ``topic`` holds now: each partition is read from
    its start (or its offset in ``since``, see ``topic_ends``) up to the end offset it had
    when this was called."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    ends = topic_ends(bootstrap, topic)
    # Without ``since``, from the first offset the broker still holds (retention may have
    # deleted earlier ones).
    starts = {p: (since or {}).get(p, OFFSET_BEGINNING) for p in ends}
    unread = {p for p, end in ends.items() if end > 0 and end > starts[p]}
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("reader")})
    try:
        consumer.assign([TopicPartition(topic, p, starts[p]) for p in unread])
        records: list[tuple[str, bytes]] = []
        deadline = time.monotonic() + timeout
        while unread and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() or message.partition() not in unread:
                continue
            records.append(((message.key() or b"").decode(), message.value()))
            if message.offset() + 1 >= ends[message.partition()]:
                unread.discard(message.partition())
        assert not unread, f"{topic}: partitions {sorted(unread)} not read within {timeout} s"
        return records
    finally:
        consumer.close()


class PublishError(RuntimeError):
    """Kafka did not acknowledge every record."""


def publish(
    bootstrap: str, topic: str, records: Iterable[tuple[str, str]], timeout: float = 30.0
) -> int:
    """Send ``(key, value)`` records with ``acks=all``; return how many Kafka acknowledged,
    or raise if any was not."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    failures: list[str] = []
    acknowledged = 0

    def on_delivery(error: KafkaError | None, _message: Message) -> None:
        nonlocal acknowledged
        if error is None:
            acknowledged += 1
        else:
            failures.append(str(error))

    try:
        for key, value in records:
            producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
            producer.poll(0)
        unsent = producer.flush(timeout)
    finally:
        producer.close()
    if unsent or failures:
        raise PublishError(
            f"Kafka at {bootstrap} did not acknowledge {unsent + len(failures)} records "
            f"to {topic}: {failures[:3] or 'timed out'}"
        )
    return acknowledged


Trino = Callable[[str], list[list[object]]]


def eventually(trino: Trino, sql: str, expected: Any, timeout: float = 120) -> None:
    """Poll ``sql`` until it answers ``expected``; fail with the last answer."""
    deadline = time.monotonic() + timeout
    while (rows := trino(sql)) != expected and time.monotonic() < deadline:
        time.sleep(1)
    assert rows == expected, f"{sql}\n answered {rows}, expected {expected}"


def forget_events(user: str, other: str) -> list[dict[str, Any]]:
    """What the forget tests post before they erase ``user``: a guild joined and a sword
    bought by ``user``, and a guild joined by ``other``."""
    return [
        {"event_type": "join_guild", "user_id": user, "guild": "Iron Legion"},
        {"event_type": "purchase_sword", "user_id": user, "sword_type": "katana"}
        | {"sword_cost": 300, "strength": 7.5},
        {"event_type": "join_guild", "user_id": other, "guild": "Iron Legion"},
    ]


def erasures_of(user: str) -> str:
    """SQL of the audit rows of ``user``'s erasure: each table and the rows deleted from it."""
    subject = hashlib.sha256(user.encode()).hexdigest()
    return (
        "SELECT table_name, rows_deleted FROM iceberg.default.erasures "
        f"WHERE subject_sha256 = '{subject}' AND rows_deleted > 0 ORDER BY table_name"
    )

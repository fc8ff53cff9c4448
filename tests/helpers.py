"""Small helpers shared by the unit and integration tests."""

import socket
import uuid


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def unique(prefix: str) -> str:
    """A name no earlier run used, so tests never see each other's topics or tables."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def read_topic(
    bootstrap: str, topic: str, expected: int, timeout: float = 30.0
) -> list[tuple[str, bytes]]:
    """``(key, value)`` of every record of ``topic`` from the start: waits until ``expected``
    have arrived (or ``timeout``), then for a second more to catch any extra."""
    import time

    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": unique("reader"),
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    records: list[tuple[str, bytes]] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            records.append(((message.key() or b"").decode(), message.value()))
            if len(records) >= expected:
                deadline = min(deadline, time.monotonic() + 1.0)
    finally:
        consumer.close()
    return records

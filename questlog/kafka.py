"""Publishing records to Kafka and knowing they arrived."""

from collections.abc import Iterable

from confluent_kafka import KafkaError, Message, Producer


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

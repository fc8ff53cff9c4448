"""Sending the outbox's events to Kafka: one idempotent producer (``acks=all``), and a call
that returns only once Kafka has acknowledged every record it was given, or raises.

The relay calls it from a worker thread, inside the transaction that removes the records
from the outbox, so its blocking wait costs the event loop nothing."""

from collections.abc import Sequence

from confluent_kafka import KafkaError, Message, Producer

from questlog_registry.store import Record

# How much longer than the delivery timeout a send waits for the producer's last reports:
# by then every record has one (delivered, or failed for the timeout).
REPORT_GRACE_SECONDS = 5.0


class KafkaUnavailable(Exception):
    """Kafka did not acknowledge every record; the message says why."""


class KafkaSender:
    def __init__(self, bootstrap: str, topic: str, delivery_timeout_seconds: float) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self._timeout = delivery_timeout_seconds
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "enable.idempotence": True,
                "acks": "all",
                "compression.type": "lz4",
                # A record not acknowledged by then fails, rather than going out after the
                # relay has given up on it and will send it again.
                "message.timeout.ms": int(delivery_timeout_seconds * 1000),
                # Critical only: an unreachable broker is not logged at every reconnection
                # but once per outage, by the relay.
                "log_level": 2,
            }
        )

    def __call__(self, records: Sequence[Record]) -> None:
        """Send ``(key, value)`` records; raise ``KafkaUnavailable`` unless Kafka
        acknowledged every one."""
        errors: list[KafkaError] = []

        def report(error: KafkaError | None, _message: Message) -> None:
            if error is not None:
                errors.append(error)

        for key, value in records:
            self._producer.produce(self.topic, value=value, key=key, on_delivery=report)
        unreported = self._producer.flush(self._timeout + REPORT_GRACE_SECONDS)
        if unreported or errors:
            reason = errors[0].str() if errors else "no acknowledgement in time"
            raise KafkaUnavailable(
                f"Kafka at {self.bootstrap} did not acknowledge "
                f"{len(errors) + unreported} of {len(records)} events: {reason}"
            )

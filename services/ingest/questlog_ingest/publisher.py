"""Publishing to Kafka from async request handlers, answering only once Kafka has the events.

One idempotent producer (``acks=all``, compressed) is served by a task on the event loop:
while deliveries are pending it polls the producer every 0.2 ms, so delivery reports
resolve the futures requests await on the loop itself, with no thread hand-off per event.
The producer does not linger by default: a request waits for its acknowledgement, so
lingering adds to every request's time, and events produced while a produce request is in
flight share the next batch anyway. A request
is acknowledged only when every one of its events is acknowledged by Kafka, so nothing the
API has acknowledged can be lost. When Kafka is unreachable, the producer's queue is full,
or delivery times out, requests get ``KafkaUnavailable`` (the API answers 503 with
``Retry-After``).
"""

import asyncio
import contextlib
import time
from collections.abc import Sequence

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from questlog_settings import ApiSettings

from questlog_ingest import metrics


class KafkaUnavailable(Exception):
    """Kafka cannot take events right now; the message says why."""


class Publisher:
    # How often the producer is polled while deliveries are pending, and while idle.
    BUSY_POLL_SECONDS = 0.0002
    IDLE_POLL_SECONDS = 0.1

    def __init__(self, settings: ApiSettings) -> None:
        self._settings = settings
        self._producer = Producer(
            {
                "bootstrap.servers": settings.kafka.bootstrap,
                "enable.idempotence": True,
                "acks": "all",
                "compression.type": "lz4",
                "linger.ms": settings.api.kafka_linger_ms,
                "message.timeout.ms": int(settings.api.delivery_timeout_seconds * 1000),
                "queue.buffering.max.messages": settings.api.producer_queue_limit * 2,
                "error_cb": self._on_error,
                "log_level": 3,
            }
        )
        # Set by librdkafka's error callback when no broker is reachable; cleared once
        # metadata can be fetched again.
        self._brokers_down = False
        self._pending = 0
        self._work = asyncio.Event()
        self._server: asyncio.Task[None] | None = None
        metrics.PRODUCER_QUEUE.set_function(lambda: len(self._producer))

    def start(self) -> None:
        self._server = asyncio.get_running_loop().create_task(self._serve())

    async def close(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.cancel()
        await asyncio.to_thread(self._producer.flush, timeout)
        metrics.PRODUCER_QUEUE.set_function(lambda: 0)
        self._producer.close()

    def _on_error(self, error: KafkaError) -> None:
        if error.code() in (KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT):
            self._brokers_down = True

    async def _serve(self) -> None:
        while True:
            self._producer.poll(0)
            if self._brokers_down and await asyncio.to_thread(self.broker_reachable, 1.0):
                self._brokers_down = False
            if self._pending:
                await asyncio.sleep(self.BUSY_POLL_SECONDS)
                continue
            self._work.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._work.wait(), self.IDLE_POLL_SECONDS)

    def broker_reachable(self, timeout: float) -> bool:
        try:
            self._producer.list_topics(timeout=timeout)
            return True
        except KafkaException:
            return False

    async def publish(self, topic: str, records: Sequence[tuple[str, bytes]]) -> None:
        """Send ``(key, value)`` records and wait until Kafka acknowledged every one."""
        if not records:
            return
        if self._brokers_down:
            raise KafkaUnavailable("no Kafka broker is reachable")
        if len(self._producer) + len(records) > self._settings.api.producer_queue_limit:
            raise KafkaUnavailable("the producer's queue is full")
        delivery = _Delivery(len(records), asyncio.get_running_loop().create_future())
        for key, value in records:
            self._producer.produce(topic, value=value, key=key, on_delivery=delivery.report)
        self._pending += 1
        self._work.set()
        try:
            errors = await delivery.done
        finally:
            self._pending -= 1
        if errors:
            raise KafkaUnavailable(f"Kafka did not acknowledge {len(errors)} events: {errors[0]}")


class _Delivery:
    """The delivery reports of one publish call; ``done`` resolves with the errors once
    every record has its report. Reports arrive on the event loop (polled there)."""

    def __init__(self, count: int, done: "asyncio.Future[list[KafkaError]]") -> None:
        self.remaining = count
        self.errors: list[KafkaError] = []
        self.done = done
        self.started = time.perf_counter()

    def report(self, error: KafkaError | None, _message: Message) -> None:
        metrics.DELIVERY_LATENCY.observe(time.perf_counter() - self.started)
        if error is not None:
            metrics.DELIVERY_ERRORS.labels(error.name()).inc()
            self.errors.append(error)
        self.remaining -= 1
        if self.remaining == 0 and not self.done.done():
            self.done.set_result(self.errors)

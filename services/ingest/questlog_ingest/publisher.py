"""Publishing to Kafka from async request handlers, answering only once Kafka has the events.

One idempotent producer (``acks=all``, compressed, lingering a few milliseconds so that
concurrent requests share batches) is polled by a background thread; each event's delivery
report resolves a future the request awaits. A request is acknowledged only when every one
of its events is acknowledged by Kafka, so nothing the API has acknowledged can be lost.
When Kafka is unreachable, the producer's queue is full, or delivery times out, requests get
``KafkaUnavailable`` (the API answers 503 with ``Retry-After``).
"""

import asyncio
import threading
import time
from collections.abc import Callable, Sequence

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from questlog_ingest import metrics
from questlog_ingest.settings import IngestSettings

DeliveryReport = Callable[[KafkaError | None, Message], None]


class KafkaUnavailable(Exception):
    """Kafka cannot take events right now; the message says why."""


class Publisher:
    def __init__(self, settings: IngestSettings) -> None:
        self._settings = settings
        self._producer = Producer(
            {
                "bootstrap.servers": settings.kafka_bootstrap,
                "enable.idempotence": True,
                "acks": "all",
                "compression.type": "lz4",
                "linger.ms": settings.kafka_linger_ms,
                "message.timeout.ms": int(settings.delivery_timeout_seconds * 1000),
                "queue.buffering.max.messages": settings.producer_queue_limit * 2,
                "error_cb": self._on_error,
                "log_level": 3,
            }
        )
        # Set by librdkafka's error callback when no broker is reachable; cleared by the
        # poll thread once metadata can be fetched again.
        self._brokers_down = threading.Event()
        self._stopping = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="kafka-poll", daemon=True)
        metrics.PRODUCER_QUEUE.set_function(lambda: len(self._producer))

    def start(self) -> None:
        self._poller.start()

    def close(self, timeout: float = 10.0) -> None:
        self._producer.flush(timeout)
        self._stopping.set()
        self._poller.join(timeout)
        metrics.PRODUCER_QUEUE.set_function(lambda: 0)
        self._producer.close()

    def _on_error(self, error: KafkaError) -> None:
        if error.code() in (KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT):
            self._brokers_down.set()

    def _poll(self) -> None:
        while not self._stopping.is_set():
            self._producer.poll(0.1)
            if self._brokers_down.is_set() and self.broker_reachable(timeout=1.0):
                self._brokers_down.clear()

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
        if self._brokers_down.is_set():
            raise KafkaUnavailable("no Kafka broker is reachable")
        if len(self._producer) + len(records) > self._settings.producer_queue_limit:
            raise KafkaUnavailable("the producer's queue is full")
        loop = asyncio.get_running_loop()
        futures = []
        for key, value in records:
            future: asyncio.Future[KafkaError | None] = loop.create_future()
            self._producer.produce(
                topic, value=value, key=key, on_delivery=self._reporter(loop, future)
            )
            futures.append(future)
        errors = [error for error in await asyncio.gather(*futures) if error is not None]
        if errors:
            raise KafkaUnavailable(f"Kafka did not acknowledge {len(errors)} events: {errors[0]}")

    @staticmethod
    def _reporter(
        loop: asyncio.AbstractEventLoop, future: "asyncio.Future[KafkaError | None]"
    ) -> DeliveryReport:
        started = time.perf_counter()

        def report(error: KafkaError | None, _message: Message) -> None:
            metrics.DELIVERY_LATENCY.observe(time.perf_counter() - started)
            if error is not None:
                metrics.DELIVERY_ERRORS.labels(error.name()).inc()
            loop.call_soon_threadsafe(_settle, future, error)

        return report


def _settle(future: "asyncio.Future[KafkaError | None]", error: KafkaError | None) -> None:
    if not future.done():
        future.set_result(error)

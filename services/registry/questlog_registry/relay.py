"""The outbox relay: publishes the events of registry changes to Kafka, in the order they
were committed, and removes each from the outbox once Kafka has acknowledged it.

It runs on the registry's event loop, woken by every change this process commits and at
least every ``idle_seconds`` (for changes of other replicas, and for events a process left
in the outbox when it stopped, or while Kafka or the database could not be reached).
"""

import asyncio
import contextlib
import logging

from sqlalchemy.exc import OperationalError

from questlog_registry import metrics
from questlog_registry.kafka import KafkaSender, KafkaUnavailable
from questlog_registry.store import Registry, RegistryNotReady

log = logging.getLogger("questlog.registry.relay")


class OutboxRelay:
    BATCH = 500

    def __init__(self, registry: Registry, send: KafkaSender, idle_seconds: float = 1.0) -> None:
        self._registry, self._send = registry, send
        self._idle_seconds = idle_seconds
        self._work = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._serve())

    def wake(self) -> None:
        self._work.set()

    async def close(self) -> None:
        """Stop after one last pass, so a stopping registry leaves nothing it could send."""
        self._stopping = True
        self.wake()
        if self._task is not None:
            await self._task

    async def _serve(self) -> None:
        failing = False
        while True:
            self._work.clear()
            try:
                sent = await asyncio.to_thread(self._registry.relay, self._send, self.BATCH)
            except (KafkaUnavailable, RegistryNotReady, OperationalError) as error:
                if not failing:  # once per outage, not once a second
                    log.warning("the outbox waits: %s", error)
                failing, sent = True, []
            else:
                failing = False
            # The backlog, also (above all) while Kafka cannot take it.
            with contextlib.suppress(RegistryNotReady, OperationalError):
                metrics.OUTBOX_EVENTS.set(await asyncio.to_thread(self._registry.outbox_size))
            for event_type in sent:
                metrics.EVENTS_ACCEPTED.labels(event_type).inc()
            if self._stopping:
                return
            if len(sent) < self.BATCH:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._work.wait(), self._idle_seconds)

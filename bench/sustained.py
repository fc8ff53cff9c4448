"""Sustainable throughput, the stream-benchmark literature's measure: the highest steady
rate an engine holds without its lag growing. Each engine in turn (``bench.peer``: questlog's
streaming app running on its trigger, or the Kafka Connect sink committing as often) lands a
topic of its own, which this process feeds the same way for both: straight into Kafka, at
steady rates stepped up by half each step (``--sustain-step-seconds`` each). A step is held
when the 95th percentile of its events' freshness (produced -> in a committed snapshot, read
from the tables' metadata every half second) is at most twice the trigger interval, and
every event it produced has landed within twice the trigger interval after it ends (so the
lag is bounded). An engine's figure is the rate of the last step it held; the steps stop at
the first it does not hold.
"""

import json
import math
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import Producer

from bench.backlog import envelope
from bench.peer import ENGINES, POLL_SECONDS, Engine, Target
from questlog.settings import Settings
from questlog.stack.probes import create_topics
from questlog.traffic import sample_events

# Events are cut from these many templates, each sent with a new event_id.
TEMPLATES = 1000
WARM_UP_EVENTS = 2000


class Feeder:
    """Sends sample events to a topic at a steady rate, each with an event_id of its own."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.topic = topic
        self.producer = Producer({"bootstrap.servers": settings.kafka.bootstrap, "linger.ms": 5})
        rng = random.Random(7)
        self.templates = []
        for event in sample_events(TEMPLATES, rng):
            record = envelope(event)
            self.templates.append((event["user_id"], json.dumps(record), record["event_id"]))
        self.sent = 0

    def send(self, count: int) -> None:
        for n in range(self.sent, self.sent + count):
            key, value, event_id = self.templates[n % TEMPLATES]
            self.producer.produce(
                self.topic, key=key, value=value.replace(event_id, str(uuid.uuid4()))
            )
            self.producer.poll(0)
        self.sent += count

    def flush(self) -> None:
        if self.producer.flush(60):
            raise SystemExit(f"bench: Kafka did not take the events sent to {self.topic}")


@dataclass(frozen=True)
class Step:
    rate: float  # events/s sent
    p95: float  # seconds from sending to a committed snapshot
    caught_up: bool  # everything sent had landed within twice the trigger after the step
    held: bool


def run_step(engine: Engine, feeder: Feeder, rate: float, seconds: float, limit: float) -> Step:
    """Feed ``rate`` events/s for ``seconds``, then wait up to ``limit`` for the engine to
    land them; a step is held when p95 freshness and that wait are within ``limit``."""
    sent: list[tuple[float, int]] = []  # (when, events sent by then)
    started = last_poll = time.monotonic()
    # (when, events in committed snapshots)
    landed: list[tuple[float, int]] = [(started, engine.landed().total())]
    first = feeder.sent
    while (now := time.monotonic()) - started < seconds:
        feeder.send(round(rate * (now - started)) - (feeder.sent - first))
        if now - last_poll >= POLL_SECONDS:
            sent.append((now, feeder.sent))
            landed.append((now, engine.landed().total()))
            engine.check(f"fed {rate:,.0f} events/s")
            last_poll = now
        time.sleep(0.01)
    feeder.flush()
    ended = time.monotonic()
    sent.append((ended, feeder.sent))
    while time.monotonic() - ended < limit and landed[-1][1] < feeder.sent:
        time.sleep(POLL_SECONDS)
        landed.append((time.monotonic(), engine.landed().total()))
    delays = [
        next((at - when for at, count in landed if at >= when and count >= total), float("inf"))
        for when, total in sent
    ]
    p95 = sorted(delays)[math.ceil(0.95 * len(delays)) - 1]
    caught_up = landed[-1][1] >= feeder.sent
    actual = (feeder.sent - first) / (ended - started)
    return Step(actual, p95, caught_up, caught_up and p95 <= limit)


@dataclass(frozen=True)
class Sustained:
    rate: float  # of the last step held (0 if none)
    every_step: bool  # held every step: the rate is a lower bound

    def __str__(self) -> str:
        return f"{'>= ' if self.every_step else ''}{self.rate:,.0f}"


def sustained_rate(
    settings: Settings, engine: Engine, start_rate: float, steps: int, seconds: float
) -> Sustained:
    """What ``engine`` held of the steps, its topic fed by this process."""
    limit = 2 * settings.stream.trigger_seconds
    feeder = Feeder(settings, engine.topic)
    engine.start()
    held = 0.0
    try:
        # Its start, and a first batch, before the steps.
        feeder.send(WARM_UP_EVENTS)
        feeder.flush()
        deadline = time.monotonic() + 300
        while engine.landed().total() < WARM_UP_EVENTS:
            engine.check("warming up")
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: {engine.kind} did not land its warm-up in 300 s")
            time.sleep(POLL_SECONDS)
        rate, every_step = start_rate, True
        for _ in range(steps):
            step = run_step(engine, feeder, rate, seconds, limit)
            print(
                f"    {engine.kind}: {step.rate:,.0f} events/s, freshness p95 {step.p95:.1f} s"
                f"{'' if step.caught_up else ', not caught up'}: "
                f"{'held' if step.held else 'not held'}"
            )
            if not step.held:
                every_step = False
                break
            held, rate = step.rate, rate * 1.5
    finally:
        engine.stop()
    return Sustained(held, every_step)


def bench_sustained(
    settings: Settings,
    start_rate: float,
    steps: int,
    seconds: float,
    target: Callable[[str], Target],
) -> dict[str, Sustained]:
    """Each engine's sustainable rate, in turn, each on a new topic and new tables (made by
    ``target``)."""
    rates = {}
    for kind in ENGINES:
        topic = f"bench.sustained.{kind}.{uuid.uuid4().hex[:8]}"
        create_topics(settings.kafka.bootstrap, [topic], 3)
        engine = Engine(settings, kind, topic, target(kind), drain=False)
        rates[kind] = sustained_rate(settings, engine, start_rate, steps, seconds)
    return rates

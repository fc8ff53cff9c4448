"""Backlogs of sample events in Kafka, as the ingest API publishes them."""

import json
import random
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Producer

from questlog.settings import Settings
from questlog.stack.probes import create_topics
from questlog.traffic import sample_events


def envelope(event: dict[str, Any]) -> dict[str, Any]:
    """An event as the ingest API publishes it."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "event_id": str(uuid.uuid4()),
        "event_version": 1,
        "occurred_at": now,
        "received_at": now,
        "host": "bench.example",
        "user_agent": "questlog-bench",
        **event,
    }


def fill_topic(settings: Settings, topic: str, count: int) -> Counter[str]:
    """A new topic of ``count`` sample events, as the API publishes them; how many of each
    type it holds."""
    create_topics(settings.kafka.bootstrap, [topic], 3)
    producer = Producer({"bootstrap.servers": settings.kafka.bootstrap, "linger.ms": 20})
    rng = random.Random(5)
    types: Counter[str] = Counter()
    for start in range(0, count, 1000):
        for event in sample_events(min(1000, count - start), rng):
            producer.produce(topic, key=event["user_id"], value=json.dumps(envelope(event)))
            producer.poll(0)
            types[event["event_type"]] += 1
    if producer.flush(60):
        raise SystemExit(f"bench: Kafka did not take the backlog of {topic}")
    return types

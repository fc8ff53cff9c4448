"""``make demo``: the stack end to end. Sample game events are published to the Kafka topic
``events``, a Spark job lands the topic in the Parquet table ``events_raw`` registered in
the Hive Metastore, and Trino answers a report over it."""

import json
import random
import uuid
from datetime import UTC, datetime

from questlog.kafka import publish
from questlog.settings import StackSettings
from questlog.stack import lifecycle
from questlog.stack.install import Say
from questlog.stack.probes import trino_query
from questlog.stack.spark import spark_submit

TOPIC = "events"
TABLE = "default.events_raw"
# The original game's events and a share of traffic each.
EVENT_MIX = {
    "purchase_sword": 30,
    "join_guild": 20,
    "purchase_axe": 12,
    "purchase_shield": 12,
    "declare_war": 6,
    "declare_peace": 6,
    "enrol_pilot": 8,
    "fit_ship": 6,
}
REPORT_SQL = f"""
SELECT event_type, count(*) AS events, count(DISTINCT key) AS players
FROM hive.{TABLE}
GROUP BY event_type
ORDER BY events DESC, event_type
"""


def sample_events(count: int, rng: random.Random) -> list[dict[str, str]]:
    types = rng.choices(list(EVENT_MIX), weights=list(EVENT_MIX.values()), k=count)
    return [
        {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "event_type": event_type,
            "user_id": f"player-{rng.randrange(200):03d}",
            "occurred_at": datetime.now(UTC).isoformat(),
        }
        for event_type in types
    ]


def run(settings: StackSettings, say: Say, events: int = 2000) -> list[list[object]]:
    lifecycle.up(settings, say)
    say(f"\nPublishing {events} sample game events to Kafka topic '{TOPIC}' ...")
    publish(
        settings.kafka_bootstrap,
        TOPIC,
        ((event["user_id"], json.dumps(event)) for event in sample_events(events, random.Random())),
    )
    say(f"Landing the topic in the Parquet table {TABLE} with Spark ...")
    spark_submit(
        settings,
        "topic_snapshot",
        f"--bootstrap={settings.kafka_bootstrap}",
        f"--topic={TOPIC}",
        f"--table={TABLE}",
    )
    say(f"Asking Trino ({settings.trino_url}):{REPORT_SQL}")
    rows = trino_query(settings.host, settings.trino_port, REPORT_SQL)
    say(f"{'event_type':<16} {'events':>8} {'players':>8}")
    for event_type, count, players in rows:
        say(f"{event_type!s:<16} {count:>8} {players:>8}")
    return rows

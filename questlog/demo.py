"""``make demo``: the stack end to end. Sample game events are posted to the ingest API in
batches, which publishes them to the Kafka topic ``events``; a Spark job lands the topic in
the Parquet table ``events_raw`` registered in the Hive Metastore; Trino answers a report
over it."""

import json
import random
import urllib.request
from typing import Any

from questlog_ingest.game import ROUTES

from questlog.settings import StackSettings
from questlog.stack import lifecycle
from questlog.stack.install import Say
from questlog.stack.probes import trino_query
from questlog.stack.spark import spark_submit

TOPIC = "events"
TABLE = "default.events_raw"
BATCH = 100
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
ATTRIBUTES = {route.event_type: route.attributes for route in ROUTES}
REPORT_SQL = f"""
SELECT event_type, count(*) AS events, count(DISTINCT key) AS players
FROM hive.{TABLE}
GROUP BY event_type
ORDER BY events DESC, event_type
"""


def sample_events(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """Events as the game's players send them, with the game's own random attributes."""
    types = rng.choices(list(EVENT_MIX), weights=list(EVENT_MIX.values()), k=count)
    return [
        {
            "event_type": event_type,
            "user_id": f"player-{rng.randrange(200):03d}",
            **ATTRIBUTES[event_type](rng),
        }
        for event_type in types
    ]


def post_batch(api_url: str, events: list[dict[str, Any]]) -> int:
    """POST one batch to the ingest API; the number of events it accepted."""
    request = urllib.request.Request(
        f"{api_url}/v1/events",
        data=json.dumps({"events": events}).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "questlog-demo"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return len(json.load(response)["accepted"])


def run(settings: StackSettings, say: Say, events: int = 2000) -> list[list[object]]:
    lifecycle.up(settings, say)
    say(f"\nPosting {events} sample game events to the ingest API ({settings.api_url}) ...")
    sample = sample_events(events, random.Random())
    accepted = sum(
        post_batch(settings.api_url, sample[i : i + BATCH]) for i in range(0, events, BATCH)
    )
    say(f"The API accepted {accepted} events; Kafka has them in topic '{TOPIC}'.")
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

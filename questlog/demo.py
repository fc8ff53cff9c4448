"""``make demo``: the stack end to end. Sample game events are posted to the ingest API in
batches, which publishes them to the Kafka topic ``events``; the streaming app lands them in
one typed Parquet table per event type, registered in the Hive Metastore; once Trino sees
them all, the analytics report runs on Trino."""

import json
import random
import time
import urllib.request
import uuid
from typing import Any

from questlog_ingest.game import ROUTES

from questlog import report
from questlog.catalog import load_catalog
from questlog.settings import StackSettings
from questlog.stack import lifecycle
from questlog.stack.install import Say
from questlog.stack.probes import trino_query

TOPIC = "events"
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
# Seconds the demo waits for the stream to land what the API accepted.
LANDING_TIMEOUT = 180


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


def post_batch(api_url: str, events: list[dict[str, Any]], user_agent: str) -> int:
    """POST one batch to the ingest API; the number of events it accepted."""
    request = urllib.request.Request(
        f"{api_url}/v1/events",
        data=json.dumps({"events": events}).encode(),
        headers={"Content-Type": "application/json", "User-Agent": user_agent},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return len(json.load(response)["accepted"])


def landed(settings: StackSettings, user_agent: str) -> int:
    """How many events sent with ``user_agent`` Trino sees in the event tables."""
    tables = sorted({t.table for t in load_catalog().values()})
    union = " UNION ALL ".join(
        f"SELECT count(*) AS n FROM hive.default.{t} WHERE user_agent = '{user_agent}'"
        for t in tables
    )
    (row,) = trino_query(settings.host, settings.trino_port, f"SELECT sum(n) FROM ({union})")
    return int(str(row[0]))


def wait_until_landed(settings: StackSettings, user_agent: str, sent: int, say: Say) -> float:
    """Poll Trino until it sees all ``sent`` events; the seconds that took."""
    started = time.monotonic()
    while (seen := landed(settings, user_agent)) < sent:
        waited = time.monotonic() - started
        if waited > LANDING_TIMEOUT:
            raise lifecycle.StackError(
                f"only {seen} of {sent} events reached the lake within {LANDING_TIMEOUT} s; "
                "see `questlog logs stream`"
            )
        say(f"  {seen}/{sent} events visible in Trino after {waited:.0f} s ...")
        time.sleep(2)
    return time.monotonic() - started


def run(settings: StackSettings, say: Say, events: int = 2000) -> list[report.Answer]:
    lifecycle.up(settings, say)
    # This run's events are told apart from earlier runs' by their User-Agent.
    user_agent = f"questlog-demo/{uuid.uuid4().hex[:12]}"
    say(f"\nPosting {events} sample game events to the ingest API ({settings.api_url}) ...")
    sample = sample_events(events, random.Random())
    accepted = sum(
        post_batch(settings.api_url, sample[i : i + BATCH], user_agent)
        for i in range(0, events, BATCH)
    )
    say(f"The API accepted {accepted} events; Kafka has them in topic '{TOPIC}'.")
    say("Waiting for the streaming app to land them in the lake's tables ...")
    seconds = wait_until_landed(settings, user_agent, accepted, say)
    say(f"All {accepted} events are queryable in Trino, {seconds:.0f} s after the last 202.")
    return report.run(settings, say)

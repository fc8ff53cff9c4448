"""Sample game traffic: events as the game's players send them, posted to the ingest API in
batches, and the SQL that counts how many of them landed. Standard library only, so that
the API's container (which runs ``questlog.smoke`` as a Helm test) can use it."""

import argparse
import json
import os
import random
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

from questlog_catalog import load_catalog
from questlog_ingest.game import ROUTES

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


def key_headers() -> dict[str, str]:
    """The Authorization header of the write key in ``QUESTLOG_WRITE_KEY`` (none if unset)."""
    key = os.environ.get("QUESTLOG_WRITE_KEY")
    return {"Authorization": f"Bearer {key}"} if key else {}


def event_headers(user_agent: str) -> dict[str, str]:
    """Headers of a POST to /v1/events, with the write key of ``key_headers``."""
    return {"Content-Type": "application/json", "User-Agent": user_agent, **key_headers()}


def post_batch(api_url: str, events: list[dict[str, Any]], user_agent: str) -> int:
    """POST one batch to the ingest API; the number of events it accepted."""
    request = urllib.request.Request(
        f"{api_url}/v1/events",
        data=json.dumps({"events": events}).encode(),
        headers=event_headers(user_agent),
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return len(json.load(response)["accepted"])


def post_sample(api_url: str, count: int, user_agent: str, rng: random.Random) -> int:
    """POST ``count`` sample events in batches; the number the API accepted."""
    sample = sample_events(count, rng)
    return sum(
        post_batch(api_url, sample[i : i + BATCH], user_agent) for i in range(0, count, BATCH)
    )


def landed_sql(user_agent: str, prefix: bool = False, event_types: list[str] | None = None) -> str:
    """SQL counting the events sent with ``user_agent`` (or any User-Agent starting with
    it) in the tables of ``event_types`` (default: every table). Events sent now land in
    today's date (UTC), so only the recent dates are read (a day's margin for the
    session's time zone): the SQL is polled, and must not scan the whole lake each time."""
    catalog = load_catalog()
    tables = sorted({catalog[t].table for t in (event_types or catalog)})
    match = f"LIKE '{user_agent}%'" if prefix else f"= '{user_agent}'"
    recent = "event_date >= current_date - INTERVAL '1' DAY"
    union = " UNION ALL ".join(
        f"SELECT count(*) AS n FROM hive.default.{t} WHERE {recent} AND user_agent {match}"
        for t in tables
    )
    return f"SELECT coalesce(sum(n), 0) FROM ({union})"


def wait_until_landed(
    count: Callable[[], int],
    expected: int,
    timeout: float,
    poll: float,
    progress: Callable[[int, float], None] = lambda seen, waited: None,
) -> tuple[int, float]:
    """Poll ``count`` (events Trino returns) until it reaches ``expected`` or ``timeout``
    seconds have passed: the last count, and the seconds waited. ``progress`` hears of each
    count short of ``expected``."""
    started = time.monotonic()
    while (seen := count()) < expected:
        waited = time.monotonic() - started
        if waited > timeout:
            return seen, waited
        progress(seen, waited)
        time.sleep(poll)
    return seen, time.monotonic() - started


# After the run, how long a batch not yet accepted is still posted again.
RESEND_SECONDS = 60.0


def post_for(
    api_url: str,
    seconds: float,
    user_agent: str,
    rng: random.Random,
    stopped: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    """POST sample batches for ``seconds`` (or until ``stopped``), one after another: how
    each request ended (its HTTP status, or the kind of error before one) and how many
    events were accepted, how many of them distinct.

    A batch answered 503, or whose answer was lost, may have been written in part (Kafka
    acknowledged some events, then a broker went away): it is posted again, the same events
    with the same ids, which the stream lands once, until accepted (after the run too, for
    up to ``RESEND_SECONDS``; those it gave up on are counted as ``unsent``). So every event
    that lands was counted as accepted."""
    outcomes: dict[str, int] = {}
    accepted: list[str] = []
    deadline = time.monotonic() + seconds
    events: list[dict[str, Any]] = []
    pending: bytes | None = None  # the body of ``events`` while not yet accepted
    give_up: float | None = None  # set once the run is over with a batch still pending
    while (running := time.monotonic() < deadline and not stopped()) or pending:
        if pending is None:
            events = [{**e, "event_id": str(uuid.uuid4())} for e in sample_events(BATCH // 2, rng)]
            pending = json.dumps({"events": events}).encode()
        elif not running:
            give_up = give_up or time.monotonic() + RESEND_SECONDS
            if time.monotonic() > give_up:
                break
        request = urllib.request.Request(
            f"{api_url}/v1/events",
            data=pending,
            headers=event_headers(user_agent),
        )
        pause = 0.05
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                outcome = str(response.status)
                accepted += [event["event_id"] for event in json.load(response)["accepted"]]
                pending = None
        except urllib.error.HTTPError as error:
            outcome = str(error.code)
            if error.code == 503:
                pause = min(float(error.headers.get("Retry-After", pause)), 2.0)
            else:  # refused as it is: posting it again would be refused again
                pending = None
        except OSError as error:
            outcome = type(getattr(error, "reason", error)).__name__
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        time.sleep(pause)
    return {
        "outcomes": outcomes,
        "accepted": len(accepted),
        "distinct": len(set(accepted)),
        "unsent": len(events) if pending else 0,  # the batch given up on
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m questlog.traffic",
        description="Post sample game events for a while; print how the requests ended (JSON).",
    )
    parser.add_argument("api", help="the ingest API's base URL")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--user-agent", required=True, help="marks the events in the lake")
    args = parser.parse_args(argv)
    # SIGTERM (a pod stopped early) ends the run with the tally, not without it.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    summary = post_for(args.api, args.seconds, args.user_agent, random.Random(7), stop.is_set)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())

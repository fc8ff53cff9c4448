"""``python -m questlog.smoke``: proves that a running pipeline carries events end to end.

It checks that the API's pilot registry answers (its database is reachable and
migrated), posts sample game events to the ingest API, checks that the API's
accepted-events counter moved by as many, and (given Trino's URL) waits until Trino
returns every one of them from the lake's tables.
The integration tests run it against the local stack and the Helm test hook runs it in the
cluster, from the API's image (which has the Kafka and Trino clients, not the stack's).
"""

import argparse
import json
import random
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable

from trino.dbapi import connect as trino_connect
from trino.exceptions import TrinoConnectionError, TrinoQueryError

from questlog.metrics_text import metric_sum, scrape
from questlog.traffic import key_headers, landed_sql, post_sample, wait_until_landed

ACCEPTED_METRIC = "questlog_events_accepted_total"


class SmokeError(RuntimeError):
    """The pipeline did not do what the check expected; the message says what."""


def trino_scalar(trino_url: str, sql: str, timeout: float = 30.0) -> object:
    """The single value one statement returns, asked through Trino's Python client."""
    url = urllib.parse.urlsplit(trino_url)
    connection = trino_connect(  # type: ignore[no-untyped-call]  # trino ships no hints here
        host=url.hostname,
        port=url.port or 8080,
        http_scheme=url.scheme,
        user="questlog-smoke",
        request_timeout=timeout,
    )
    try:
        cursor = connection.cursor()
        cursor.execute(sql)
        rows: list[list[object]] = cursor.fetchall()
    except TrinoQueryError as error:
        raise SmokeError(f"Trino failed {sql!r}: {error.message}") from None
    except TrinoConnectionError as error:
        raise SmokeError(f"Trino at {trino_url} cannot be reached: {error}") from None
    finally:
        connection.close()
    if len(rows) != 1 or len(rows[0]) != 1:
        raise SmokeError(f"Trino answered {sql!r} with {rows}, not one value")
    return rows[0][0]


def accepted_total(metrics_url: str) -> float:
    """The API's accepted-events counter summed over every address the metrics host
    resolves to: each pod behind a headless Service, or the one local process."""
    url = urllib.parse.urlsplit(metrics_url)
    port = url.port or 80
    addresses = sorted({str(info[4][0]) for info in socket.getaddrinfo(url.hostname, port)})
    total = 0.0
    for address in addresses:
        host = f"[{address}]" if ":" in address else address
        total += metric_sum(scrape(f"http://{host}:{port}{url.path}"), ACCEPTED_METRIC)
    return total


def registered_pilots(api_url: str) -> int:
    """How many pilots the API's registry holds; SmokeError when it cannot say."""
    try:
        request = urllib.request.Request(f"{api_url}/v1/pilots?limit=1", headers=key_headers())
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(json.load(response)["total"])
    except urllib.error.HTTPError as error:
        raise SmokeError(f"the pilot registry answered {error.code}: {error.read()!r}") from None


def run(
    api_url: str,
    trino_url: str | None,
    metrics_url: str,
    events: int,
    timeout: float,
    say: Callable[[str], None] = print,
) -> float:
    """The whole check; the seconds from the last 202 until Trino saw every event (0
    without Trino)."""
    user_agent = f"questlog-smoke/{uuid.uuid4().hex[:12]}"
    say(f"The pilot registry answers: {registered_pilots(api_url)} pilots.")
    before = accepted_total(metrics_url)
    say(f"Posting {events} events to {api_url} as {user_agent} ...")
    accepted = post_sample(api_url, events, user_agent, random.Random())
    if accepted != events:
        raise SmokeError(f"the API accepted {accepted} of {events} valid events")
    moved = accepted_total(metrics_url) - before
    if moved < events:
        raise SmokeError(f"{ACCEPTED_METRIC} moved by {moved:.0f}, not by {events}")
    say(f"The API accepted all {events}; {ACCEPTED_METRIC} moved by {moved:.0f}.")
    if trino_url is None:
        return 0.0
    sql = landed_sql(user_agent)
    seen, seconds = wait_until_landed(
        lambda: int(str(trino_scalar(trino_url, sql))),
        events,
        timeout,
        poll=3,
        progress=lambda seen, waited: say(
            f"  {seen}/{events} visible in Trino after {waited:.0f} s ..."
        ),
    )
    if seen > events:
        raise SmokeError(f"Trino returns {seen} rows for {events} events: duplicates")
    if seen < events:
        raise SmokeError(f"Trino returns {seen} of {events} events after {seconds:.0f} s")
    say(f"OK: Trino returns all {events} events, {seconds:.0f} s after the last 202.")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m questlog.smoke", description=__doc__)
    parser.add_argument("--api", required=True, help="ingest API base URL")
    parser.add_argument("--trino", help="Trino base URL; without it the lake is not checked")
    parser.add_argument(
        "--metrics", help="the API's metrics URL; a headless Service's name reaches every pod"
    )
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for Trino")
    args = parser.parse_args(argv)
    try:
        run(args.api, args.trino, args.metrics or f"{args.api}/metrics", args.events, args.timeout)
    except (SmokeError, OSError) as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

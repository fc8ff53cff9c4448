"""``python -m questlog.canary``: the pipeline's freshness, measured all the time.

Every ``--interval`` seconds a canary event (a ``default`` event from the User-Agent
``questlog-canary/<id>``) is posted to the ingest API; Trino is then polled until it
returns that event. The seconds from the API's 202 to Trino's answer feed the histogram
``questlog_canary_freshness_seconds``; canaries Trino has not returned within
``--timeout`` count in ``questlog_canary_lost_total``. Both are served on ``--port`` for
Prometheus. The local stack runs it as the component ``canary``; the Helm chart as a
Deployment. Standard library and prometheus-client only (the API's image has both).
"""

import argparse
import logging
import random
import time
import uuid

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from questlog.smoke import SmokeError, trino_scalar
from questlog.traffic import landed_sql, post_batch, wait_until_landed

log = logging.getLogger("questlog.canary")
FRESHNESS = Histogram(
    "questlog_canary_freshness_seconds",
    "Seconds from the API's 202 for a canary event until Trino returned it.",
    buckets=(2, 5, 7.5, 10, 12.5, 15, 20, 30, 45, 60, 120, 300),
)
LOST = Counter(
    "questlog_canary_lost_total", "Canary events Trino had not returned within the timeout."
)
LAST_SEEN = Gauge(
    "questlog_canary_last_seen_timestamp_seconds", "Unix time Trino last returned a canary."
)


CANARY_TYPE = "default"


def probe(api_url: str, trino_url: str, timeout: float, poll: float) -> float | None:
    """Post one canary and wait for it in Trino; its freshness, or None if lost."""
    agent = f"questlog-canary/{uuid.uuid4().hex[:12]}"
    post_batch(api_url, [{"event_type": CANARY_TYPE, "user_id": "canary"}], agent)
    sql = landed_sql(agent, event_types=[CANARY_TYPE])  # its own table only
    seen, seconds = wait_until_landed(
        lambda: int(str(trino_scalar(trino_url, sql))), 1, timeout, poll
    )
    return seconds if seen >= 1 else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m questlog.canary", description=__doc__)
    parser.add_argument("--api", required=True, help="ingest API base URL")
    parser.add_argument("--trino", required=True, help="Trino base URL")
    parser.add_argument("--host", default="0.0.0.0", help="address of the metrics endpoint")
    parser.add_argument("--port", type=int, default=8002, help="port of the metrics endpoint")
    parser.add_argument("--interval", type=float, default=30, help="seconds between canaries")
    parser.add_argument("--timeout", type=float, default=300, help="seconds before one is lost")
    parser.add_argument("--poll", type=float, default=1, help="seconds between Trino's polls")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    start_http_server(args.port, addr=args.host)
    log.info("metrics on %s:%d; a canary every %g s", args.host, args.port, args.interval)
    while True:
        started = time.monotonic()
        try:
            seconds = probe(args.api, args.trino, args.timeout, args.poll)
        except (OSError, SmokeError) as error:  # the API or Trino away: try again later
            log.warning("canary not sent or not read: %s", error)
        else:
            if seconds is None:
                LOST.inc()
                log.warning("canary lost: not in Trino after %g s", args.timeout)
            else:
                FRESHNESS.observe(seconds)
                LAST_SEEN.set_to_current_time()
                log.info("canary visible in Trino %.1f s after its 202", seconds)
        # Spread the canaries a little so they do not keep step with the trigger.
        time.sleep(
            max(0.0, args.interval * random.uniform(0.8, 1.2) - (time.monotonic() - started))
        )


if __name__ == "__main__":
    raise SystemExit(main())

"""The stack's ingest API when things go wrong: the broker stops mid-stream, and
schemathesis throws everything its OpenAPI spec allows (and more) at it."""

import json
import threading
import time
from collections import Counter

import httpx
import schemathesis
from hypothesis import HealthCheck, settings
from questlog_ingest.app import create_app

from questlog.settings import Settings
from questlog.stack import lifecycle, supervisor
from questlog.stack.probes import topic_ends
from questlog.traffic import event_headers
from tests.helpers import read_topic, unique


def test_broker_stopped_mid_stream_then_recovers_with_nothing_lost(stack: Settings) -> None:
    user, statuses, acknowledged = unique("steady"), Counter[int](), []
    before = topic_ends(stack.kafka.bootstrap, "events")
    retry_after: set[str] = set()
    stop = threading.Event()

    def send() -> None:
        headers = event_headers("questlog-tests")
        with httpx.Client(base_url=stack.api.url, headers=headers, timeout=30) as http:
            for n in range(100_000):
                if stop.is_set():
                    return
                event = {
                    "event_type": "join_guild",
                    "user_id": user,
                    "guild": "Iron Legion",
                    "event_id": f"{user}-{n}",
                }
                response = http.post("/v1/events", json=event)
                statuses[response.status_code] += 1
                if response.status_code == 202:
                    acknowledged.append(event["event_id"])
                elif response.status_code == 503:
                    retry_after.add(response.headers.get("Retry-After", ""))
                time.sleep(0.02)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        time.sleep(2)
        before_outage = statuses[202]
        assert supervisor.stop(stack, "kafka")
        # An event in flight waits out the delivery timeout (10 s); those sent once the
        # producer has seen the broker go are refused at once. Stay down until some were.
        deadline = time.monotonic() + 40
        while statuses[503] < 3 and time.monotonic() < deadline:
            time.sleep(0.5)
        during_outage = statuses[503]
        assert httpx.get(f"{stack.api.url}/readyz").status_code == 503
        lifecycle.up(stack)  # restarts Kafka only; the API reconnects by itself
        deadline = time.monotonic() + 60
        while httpx.get(f"{stack.api.url}/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the API did not become ready again"
            time.sleep(0.5)
        recovered_at = statuses[202]
        time.sleep(3)
    finally:
        stop.set()
        sender.join(60)

    assert before_outage > 0
    assert during_outage > 0 and retry_after == {"5"}, "the outage is answered 503 + Retry-After"
    assert statuses[202] > recovered_at, "events are accepted again after recovery"
    assert set(statuses) <= {202, 503}, statuses
    landed = [
        json.loads(v)["event_id"]
        for k, v in read_topic(stack.kafka.bootstrap, "events", since=before)
        if k == user
    ]
    assert len(landed) == len(set(landed)), "no event landed twice"
    missing = set(acknowledged) - set(landed)
    assert not missing, f"{len(missing)} acknowledged events were lost"


# The spec comes from the app itself (building it needs no Kafka); the calls go over HTTP
# to the stack's running API.
schema = schemathesis.openapi.from_dict(create_app().openapi())


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_api_fail(case: schemathesis.Case, stack: Settings) -> None:
    case.call_and_validate(
        base_url=stack.api.url,
        headers={"Authorization": event_headers("")["Authorization"]},  # the stack's key
        checks=[schemathesis.checks.not_a_server_error],
    )

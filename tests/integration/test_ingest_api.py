"""The ingest API against the real broker: in-process with per-test topics (settings
overridden as the FastAPI docs do it), and as the stack's own Uvicorn process."""

import json
import time
from collections.abc import Iterator
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from questlog_catalog import load_catalog
from questlog_ingest.app import create_app
from questlog_ingest.game import ROUTES
from questlog_registry.keys import opened
from questlog_settings import ApiSettings, get_api_settings

from questlog.settings import LocalRegistry, Settings
from questlog.stack.probes import topic_ends
from tests.helpers import new_write_key, read_topic, start_registry, stop, unique, with_api


@pytest.fixture
def client(api_settings: ApiSettings, bearer: dict[str, str]) -> Iterator[TestClient]:
    app = create_app()
    app.dependency_overrides[get_api_settings] = lambda: api_settings
    with TestClient(app, headers=bearer, client=("203.0.113.77", 50000)) as test_client:
        yield test_client


def sword(user: str = "player-1", **extra: Any) -> dict[str, Any]:
    return {
        "event_type": "purchase_sword",
        "user_id": user,
        "sword_type": "katana",
        "sword_cost": 300,
        "strength": 7.5,
        **extra,
    }


def landed(settings: ApiSettings, topic: str) -> list[dict[str, Any]]:
    return [json.loads(value) for _, value in read_topic(settings.kafka.bootstrap, topic)]


def test_single_event_lands_complete_and_keyed_by_user(
    client: TestClient, api_settings: ApiSettings
) -> None:
    event = sword(event_id="client-id-1", occurred_at="2026-11-24T21:15:00+01:00")
    response = client.post("/v1/events", json=event, headers={"User-Agent": "ab/2.3"})
    assert response.status_code == 202
    assert response.json() == {
        "accepted": [{"index": 0, "event_id": "client-id-1"}],
        "rejected": [],
    }

    (record,) = read_topic(api_settings.kafka.bootstrap, api_settings.kafka.events_topic)
    key, value = record
    published = json.loads(value)
    assert key == "player-1"
    assert published["occurred_at"] == "2026-11-24T20:15:00.000Z"
    assert published["received_at"].endswith("Z")
    assert published | {"received_at": None} == {
        "event_id": "client-id-1",
        "event_type": "purchase_sword",
        "event_version": 1,
        "occurred_at": "2026-11-24T20:15:00.000Z",
        "received_at": None,
        "user_id": "player-1",
        "host": "testserver",
        "user_agent": "ab/2.3",
        "source": "tests",
        "client_ip": "203.0.113.0",
        "sword_type": "katana",
        "sword_cost": 300,
        "strength": 7.5,
    }


def test_batch_lands_in_order_per_user(client: TestClient, api_settings: ApiSettings) -> None:
    events = [sword(user=f"player-{i % 3}", sword_cost=i) for i in range(30)]
    response = client.post("/v1/events", json={"events": events})
    assert response.status_code == 202
    accepted = response.json()["accepted"]
    assert [a["index"] for a in accepted] == list(range(30))
    assert len({a["event_id"] for a in accepted}) == 30

    published = landed(api_settings, api_settings.kafka.events_topic)
    assert len(published) == 30
    for user in ("player-0", "player-1", "player-2"):
        costs = [p["sword_cost"] for p in published if p["user_id"] == user]
        assert costs == sorted(costs), "a user's events keep their order"


def test_mixed_batch_splits_valid_and_dead_letters(
    client: TestClient, api_settings: ApiSettings
) -> None:
    events = [
        sword(),
        {"event_type": "summon_dragon", "user_id": "player-2"},
        {"event_type": "join_guild", "user_id": "player-3", "guild": "Iron Legion"},
        sword(sword_cost="a lot"),
    ]
    response = client.post("/v1/events", json={"events": events})
    assert response.status_code == 202
    body = response.json()
    assert [a["index"] for a in body["accepted"]] == [0, 2]
    assert body["rejected"] == [
        {
            "index": 1,
            "reason": "event_type: unknown event type 'summon_dragon'; known: "
            "declare_peace, declare_war, default, enrol_pilot, fit_ship, join_guild, "
            "purchase_axe, purchase_shield, purchase_sword, sign_up",
        },
        {"index": 3, "reason": "sword_cost: 'a lot' is not of type 'integer'"},
    ]
    valid = landed(api_settings, api_settings.kafka.events_topic)
    assert sorted(v["event_type"] for v in valid) == ["join_guild", "purchase_sword"]
    dead = landed(api_settings, api_settings.kafka.invalid_topic)
    assert sorted((d["index"], d["kind"]) for d in dead) == [
        (1, "unknown_event_type"),
        (3, "schema"),
    ]
    assert {d["event"]["user_id"] for d in dead} == {"player-1", "player-2"}


def bad(
    body: Any, status: int, reason: str, name: str, content_type: str = "application/json"
) -> Any:
    """One bad request: its body (bytes as is, anything else as JSON), the status and the
    part of the reason it must be answered with."""
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return pytest.param(raw, content_type, status, reason, id=name)


BAD_INPUTS = [
    bad(b"{not json", 400, "malformed JSON", "malformed-json"),
    bad(b'{"event_type": "default", "user_id": "u", "x": NaN}', 400, "malformed JSON", "nan"),
    bad(sword(), 415, "application/json", "wrong-content-type", content_type="text/plain"),
    bad({"events": []}, 422, "non-empty array", "empty-batch"),
    bad({"events": [sword()] * 51}, 413, "at most 50 events", "batch-too-long"),
    bad({"events": [sword()], "extra": 1}, 422, "single key 'events'", "batch-with-extra-key"),
    bad([1, 2], 422, "must be a JSON object", "not-an-object"),
    bad({"event_type": "nope", "user_id": "u"}, 422, "unknown event type 'nope'", "unknown-type"),
    bad(sword(strength=11), 422, "strength: 11 is greater than the maximum of 10", "out-of-range"),
    bad(sword(strength="strong"), 422, "strength: 'strong' is not of type 'number'", "wrong-type"),
    bad(
        {k: v for k, v in sword().items() if k != "user_id"},
        422,
        "'user_id' is a required property",
        "missing-user",
    ),
    bad(sword(colour="red"), 422, "('colour' was unexpected)", "unknown-field"),
    bad(
        sword(occurred_at="2026-11-24 21:15:00"), 422, "has no time zone offset", "naive-timestamp"
    ),
]


@pytest.mark.parametrize(("body", "content_type", "status", "reason"), BAD_INPUTS)
def test_bad_input_gets_a_precise_error_and_valid_data_keeps_flowing(
    client: TestClient,
    api_settings: ApiSettings,
    body: bytes,
    content_type: str,
    status: int,
    reason: str,
) -> None:
    response = client.post("/v1/events", content=body, headers={"Content-Type": content_type})
    assert response.status_code == status
    assert reason in response.text
    assert client.post("/v1/events", json=sword(event_id="after-the-bad-one")).status_code == 202
    published = landed(api_settings, api_settings.kafka.events_topic)
    assert [p["event_id"] for p in published] == ["after-the-bad-one"]


def test_oversized_body_is_refused_before_it_is_read(client: TestClient) -> None:
    body = b'{"events": [' + b" " * (64 * 1024) + b"]}"
    response = client.post("/v1/events", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "the limit is 65536" in response.json()["detail"]


def test_metrics_count_what_happened(client: TestClient) -> None:
    def sample(name: str, labels: str) -> float:
        for line in client.get("/metrics").text.splitlines():
            if line.startswith(f"{name}{{{labels}}}"):
                return float(line.split()[-1])
        return 0.0

    accepted = 'event_type="purchase_sword"'
    rejected = 'event_type="purchase_sword",reason="schema"'
    before = (
        sample("questlog_events_accepted_total", accepted),
        sample("questlog_events_rejected_total", rejected),
    )
    client.post("/v1/events", json={"events": [sword(), sword(), sword(strength=-1)]})
    after = (
        sample("questlog_events_accepted_total", accepted),
        sample("questlog_events_rejected_total", rejected),
    )
    assert (after[0] - before[0], after[1] - before[1]) == (2, 1)
    text = client.get("/metrics").text
    assert (
        'questlog_http_request_duration_seconds_count{method="POST",route="/v1/events",status="202"}'
        in text
    )
    assert "questlog_kafka_delivery_seconds_count" in text
    assert "questlog_kafka_producer_queue_depth" in text


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "alive"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_openapi_describes_every_event_type(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert schemas["PurchaseSwordEvent"]["properties"]["strength"]["maximum"] == 10
    assert schemas["PurchaseSwordEvent"]["x-questlog-table"] == "sword_purchases"
    assert len(schemas["Event"]["oneOf"]) == len(load_catalog())
    body = spec["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["oneOf"][1] == {"$ref": "#/components/schemas/EventBatch"}


def test_every_original_game_route_answers_and_emits_its_event(stack: Settings) -> None:
    """Against the stack's own Uvicorn process, as the course's ab scripts called it."""
    user, pilot = unique("player"), unique("Maverick")
    before = topic_ends(stack.kafka.bootstrap, "events")
    with httpx.Client(base_url=stack.api.url, headers={"Host": "user1.comcast.com"}) as http:
        for route in ROUTES:
            response = http.get(route.path, params={"user_id": user})
            assert (response.status_code, response.text) == (200, route.answer), route.path
        assert http.get("/purchase_a_dragon").status_code == 404
        chosen = http.post("/Enrol_pilot", params={"user_id": user}, json={"pilot": pilot})
        assert chosen.status_code == 200
    records = [
        json.loads(v)
        for k, v in read_topic(stack.kafka.bootstrap, "events", since=before)
        if k == user
    ]
    assert sorted(r["event_type"] for r in records) == sorted(
        [r.event_type for r in ROUTES] + ["enrol_pilot"]
    )
    assert {r["host"] for r in records} == {"user1.comcast.com"}
    swords = [r for r in records if r["event_type"] == "purchase_sword"]
    assert 0 <= swords[0]["strength"] <= 10 and swords[0]["sword_type"]
    assert any(r.get("pilot") == pilot for r in records)


def test_an_event_type_that_is_not_a_string_is_rejected_not_a_crash(client: TestClient) -> None:
    """Found by schemathesis: a dict as event_type once made the rejection metrics fail."""
    response = client.post("/v1/events", json={"events": [{"event_type": {}, "user_id": "u"}]})
    assert response.status_code == 422
    assert response.json()["rejected"][0]["reason"] == (
        "event_type: a string naming the event's type is required"
    )


def test_a_full_producer_queue_is_answered_503_and_nothing_is_sent(
    api_settings: ApiSettings, bearer: dict[str, str]
) -> None:
    app = create_app()
    app.dependency_overrides[get_api_settings] = lambda: with_api(
        api_settings, producer_queue_limit=1
    )
    with TestClient(app, headers=bearer) as small_queue:
        response = small_queue.post("/v1/events", json={"events": [sword(), sword()]})
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "3"
        assert "the producer's queue is full" in response.json()["detail"]
        assert small_queue.post("/v1/events", json=sword()).status_code == 202
    published = landed(api_settings, api_settings.kafka.events_topic)
    assert len(published) == 1, "the refused batch sent nothing"


def test_write_keys_guard_what_the_settings_say(
    api_settings: ApiSettings, bearer: dict[str, str]
) -> None:
    """Keys off (until a deployment hands its clients one): events post without one. Keys
    on the game routes too (the production profile): the original routes need one."""
    for update, path, keyless, status in [
        ({"require_write_key": False}, "/v1/events", True, 202),
        ({"game_routes_require_write_key": True}, "/purchase_a_sword", True, 401),
        ({"game_routes_require_write_key": True}, "/purchase_a_sword", False, 200),
    ]:
        app = create_app()
        app.dependency_overrides[get_api_settings] = lambda update=update: with_api(
            api_settings, **update
        )
        with TestClient(app, headers={} if keyless else bearer) as client:
            response = client.post(path, json=sword())
            assert response.status_code == status, (update, path, response.text)


def test_a_deployments_own_key_is_stored_as_the_registry_starts(
    api_settings: ApiSettings, tmp_path: Path
) -> None:
    """As on Kubernetes, where the key comes from the chart's Secret."""
    process, url = start_registry(
        {
            "QUESTLOG__REGISTRY__DATABASE_URL": f"sqlite:///{tmp_path / 'registry.db'}",
            "QUESTLOG__REGISTRY__PROVISIONED_WRITE_KEY": "qlk_from-a-secret",
            "QUESTLOG__REGISTRY__PROVISIONED_WRITE_KEY_NAME": "cluster",
        }
    )
    settings = api_settings.model_copy(
        update={"registry": api_settings.registry.model_copy(update={"url": url})}
    )
    app = create_app()
    app.dependency_overrides[get_api_settings] = lambda: settings
    try:
        with TestClient(app, headers={"Authorization": "Bearer qlk_from-a-secret"}) as client:
            assert client.post("/v1/events", json=sword()).status_code == 202
    finally:
        stop(process)
    [published] = landed(api_settings, api_settings.kafka.events_topic)
    assert published["source"] == "cluster"


def test_a_refusal_is_answered_after_the_refusal_delay_and_an_admission_at_once(
    api_settings: ApiSettings, registry: LocalRegistry, bearer: dict[str, str]
) -> None:
    """No key, an unknown key, a revoked key, then the address over its limit (the fifth
    request of a 4/hour limit, with a valid key). An hour, not a minute: the sliding window
    counter weighs the previous window, so five requests across a boundary of its windows
    may all be admitted."""
    delay = 1.5
    settings = with_api(api_settings, refusal_delay_seconds=delay, rate_limit_per_address="4/hour")
    name = unique("revoked")
    revoked = new_write_key(registry.database_url, name)
    with opened(registry.database_url) as keys:
        keys.revoke(name)
    app = create_app()
    app.dependency_overrides[get_api_settings] = lambda: settings
    answered: list[tuple[int, float]] = []
    with TestClient(app, headers=bearer) as client:
        for authorization in (
            bearer["Authorization"],
            "",
            "Bearer qlk_unknown",
            f"Bearer {revoked}",
            bearer["Authorization"],
        ):
            started = time.monotonic()
            response = client.post(
                "/v1/events", json=sword(), headers={"Authorization": authorization}
            )
            answered.append((response.status_code, time.monotonic() - started))
    assert [status for status, _ in answered] == [202, 401, 401, 403, 429]
    (_, admitted), *refusals = answered
    assert admitted < delay, answered
    assert all(seconds >= delay for _, seconds in refusals), answered


def test_a_burst_over_the_rate_limits_gets_429_and_only_events_answered_202_land(
    api_settings: ApiSettings, registry: LocalRegistry, bearer: dict[str, str]
) -> None:
    """Clients behind a trusted proxy: each forwarded address and each key has its own
    count; the address is counted before the key is checked."""
    settings = with_api(
        api_settings,
        rate_limit_per_key="20/minute",
        rate_limit_per_address="40/minute",
        refusal_delay_seconds=0.05,
        trusted_proxies=[ip_network("203.0.113.0/24")],
    )
    other_key = new_write_key(registry.database_url, unique("other"))
    app = create_app()
    app.dependency_overrides[get_api_settings] = lambda: settings
    statuses: dict[str, int] = {}
    burst = {"X-Forwarded-For": "192.0.2.10"}
    with TestClient(app, headers=bearer, client=("203.0.113.77", 50000)) as client:
        for i in range(30):
            response = client.post("/v1/events", json=sword(f"burst-{i}"), headers=burst)
            statuses[f"burst-{i}"] = response.status_code
            if response.status_code == 429:
                assert 1 <= int(response.headers["Retry-After"]) <= 60
                assert "per write key" in response.json()["detail"]
        keyless = {**burst, "Authorization": ""}
        flood = [client.post("/v1/events", json=sword(), headers=keyless) for _ in range(12)]
        elsewhere = {"X-Forwarded-For": "198.51.100.7", "Authorization": f"Bearer {other_key}"}
        response = client.post("/v1/events", json=sword("elsewhere"), headers=elsewhere)
        assert response.status_code == 202, response.text
        metrics = client.get("/metrics").text
    assert list(statuses.values()) == [202] * 20 + [429] * 10
    assert [r.status_code for r in flood] == [401] * 10 + [429] * 2
    assert "per client address" in flood[-1].json()["detail"]
    assert 'questlog_rate_limited_total{limit="key"}' in metrics
    assert 'questlog_rate_limited_total{limit="address"}' in metrics
    published = {
        record["user_id"] for record in landed(api_settings, api_settings.kafka.events_topic)
    }
    answered = {user for user, status in statuses.items() if status == 202}
    assert published == answered | {"elsewhere"}

"""Who may call the API's routes, against the real broker and the tests' own registry: with
write keys required on every route (the production profile), no key, an unknown key and a
revoked key are refused on each route the API serves, and nothing reaches Kafka or the
registry; a key's name is the source of what its requests emit, whichever route; replaying
the registry needs an operator's key."""

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from questlog_ingest.app import create_app
from questlog_registry.keys import opened
from questlog_registry.store import Registry, open_engine
from questlog_settings import ApiSettings, get_api_settings

from questlog.settings import LocalRegistry
from questlog.stack.probes import topic_ends
from tests.helpers import last_ids, new_write_key, read_topic, unique, with_api

# Routes every client may call: probes, metrics, and the API's own documentation.
OPEN = {
    *("/healthz", "/readyz", "/metrics"),
    *("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"),
}
ENROLMENT = {"alliance": "Federation", "ship": "Corvette", "player": "admission-player"}
WEAPONS = {"missile_launchers": 1, "cannons": 2, "missiles": 3, "torpedoes": 4}


def served(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, but the open ones."""
    return sorted(
        (method, route.path)  # type: ignore[attr-defined]
        for route in app.routes
        if route.path not in OPEN  # type: ignore[attr-defined]
        for method in getattr(route, "methods", ())
    )


def call(client: TestClient, method: str, path: str, pilot: str, **headers: str) -> Any:
    """``method path`` with a body it would be taken with, were the client admitted."""
    path = path.replace("{name}", pilot)
    if path == "/pilots" and method == "POST":
        form = {**ENROLMENT, "pilot": unique("Form")}
        return client.post(path, data=form, headers=headers)
    body: dict[str, Any] | None = {
        "/v1/events": {"event_type": "default", "user_id": "admission-player"},
        "/v1/pilots": {**ENROLMENT, "pilot": unique("Json")},
        f"/v1/pilots/{pilot}/fittings": WEAPONS,
    }.get(path)
    return client.request(method, path, json=body if method == "POST" else None, headers=headers)


@pytest.fixture
def keys_everywhere(api_settings: ApiSettings) -> ApiSettings:
    return with_api(
        api_settings,
        require_write_key=True,
        game_routes_require_write_key=True,
        refusal_delay_seconds=0,
    )


@pytest.fixture
def client(keys_everywhere: ApiSettings) -> Iterator[TestClient]:
    app = create_app()
    app.dependency_overrides[get_api_settings] = lambda: keys_everywhere
    with TestClient(app) as test_client:
        yield test_client


def test_every_route_refuses_a_missing_unknown_or_revoked_key_and_changes_nothing(
    client: TestClient,
    keys_everywhere: ApiSettings,
    registry: LocalRegistry,
    registry_topic: str,
    bearer: dict[str, str],
) -> None:
    settings = keys_everywhere
    revoked_name = unique("revoked")
    revoked = new_write_key(registry.database_url, revoked_name)
    with opened(registry.database_url) as keys:
        keys.revoke(revoked_name)
    pilot = unique("Admitted")
    enrolled = client.post("/v1/pilots", json={**ENROLMENT, "pilot": pilot}, headers=bearer)
    assert enrolled.status_code == 201, enrolled.text

    topics = (settings.kafka.events_topic, settings.kafka.invalid_topic, registry_topic)
    store = Registry(open_engine(registry.database_url))
    before = {topic: topic_ends(settings.kafka.bootstrap, topic) for topic in topics}
    rows_before = last_ids(store)
    routes = served(client.app)  # type: ignore[arg-type]
    assert ("POST", "/v1/pilots/replay") in routes and ("GET", "/Enrol_pilot") in routes
    refusals = {
        "no key": ({}, 401),
        "an unknown key": ({"Authorization": "Bearer qlk_never-created"}, 401),
        "a revoked key": ({"Authorization": f"Bearer {revoked}"}, 403),
    }
    answered = {
        (method, path, case): call(client, method, path, pilot, **headers).status_code
        for method, path in routes
        for case, (headers, _) in refusals.items()
    }
    expected = {(m, p, case): refusals[case][1] for m, p, case in answered}
    assert answered == expected
    after = {topic: topic_ends(settings.kafka.bootstrap, topic) for topic in topics}
    assert after == before, "a refused request reached Kafka"
    assert last_ids(store) == rows_before, "a refused request changed the registry"
    store.engine.dispose()


def test_a_keys_name_is_the_source_of_what_every_kind_of_route_emits(
    client: TestClient,
    keys_everywhere: ApiSettings,
    registry_topic: str,
    bearer: dict[str, str],
    tests_key: str,
) -> None:
    settings = keys_everywhere
    before = topic_ends(settings.kafka.bootstrap, registry_topic)
    user, pilot = unique("sourced"), unique("Sourced")
    basic = {"Authorization": "Basic " + base64.b64encode(f"{tests_key}:".encode()).decode()}
    keyless = client.get("/purchase_a_sword", params={"user_id": user})
    assert keyless.status_code == 401
    assert keyless.headers["WWW-Authenticate"] == 'Basic realm="questlog"', "a browser asks"
    assert client.get("/purchase_a_sword", params={"user_id": user}, headers=basic).is_success
    event = {"event_type": "default", "user_id": user}
    assert client.post("/v1/events", json=event, headers=bearer).status_code == 202
    enrolment = {**ENROLMENT, "pilot": pilot, "player": user}
    assert client.post("/v1/pilots", json=enrolment, headers=bearer).status_code == 201
    fitted = client.post(f"/v1/pilots/{pilot}/fittings", json=WEAPONS, headers=basic)
    assert fitted.status_code == 201, fitted.text

    published = read_topic(settings.kafka.bootstrap, settings.kafka.events_topic)
    relayed = read_topic(settings.kafka.bootstrap, registry_topic, since=before)
    sources = {
        (record["event_type"], record["source"])
        for _, value in published + relayed
        if (record := json.loads(value))["user_id"] == user
    }
    assert sources == {
        ("purchase_sword", "tests"),
        ("default", "tests"),
        ("enrol_pilot", "tests"),
        ("fit_ship", "tests"),
    }


def test_only_an_operators_key_replays_the_registry(
    client: TestClient,
    keys_everywhere: ApiSettings,
    registry: LocalRegistry,
    bearer: dict[str, str],
) -> None:
    keys_off = create_app()
    keys_off.dependency_overrides[get_api_settings] = lambda: with_api(
        keys_everywhere, require_write_key=False, game_routes_require_write_key=False
    )
    with TestClient(keys_off) as anyone:
        assert anyone.get("/v1/pilots").status_code == 200, "open, as the settings say"
        assert anyone.post("/v1/pilots/replay").status_code == 401, "never open"
    refused = client.post("/v1/pilots/replay", headers=bearer)
    assert refused.status_code == 403
    assert "not an operator's" in refused.json()["detail"]
    operator = new_write_key(registry.database_url, unique("on-call"), True)
    replayed = client.post("/v1/pilots/replay", headers={"Authorization": f"Bearer {operator}"})
    assert replayed.status_code == 202, replayed.text
    assert replayed.json()["replayed"]["enrol_pilot"] >= 1

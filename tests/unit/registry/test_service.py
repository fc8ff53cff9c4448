"""The registry's service in-process, on a real SQLite database, with no broker to reach:
what a change stages in the outbox carries the context the API passed on, and the write
keys the API asks about."""

import hashlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from questlog_catalog.records import RequestContext, forwarded
from questlog_registry.app import create_app
from questlog_registry.keys import opened
from questlog_registry.models import OutboxEvent
from questlog_settings import RegistrySettings, get_registry_settings
from sqlalchemy import select

from tests.helpers import free_port

ENROLMENT = {"alliance": "Empire", "ship": "Destroyer", "player": "player-1"}


@pytest.fixture
def settings(tmp_path: Path) -> RegistrySettings:
    return RegistrySettings(
        kafka={"bootstrap": f"127.0.0.1:{free_port()}"},  # nothing listens: events wait
        registry={
            "database_url": f"sqlite:///{tmp_path / 'registry.db'}",
            "delivery_timeout_seconds": 0.5,
        },
    )


@pytest.fixture
def client(settings: RegistrySettings) -> Iterator[TestClient]:
    app = create_app()
    app.dependency_overrides[get_registry_settings] = lambda: settings
    with TestClient(app) as test_client:
        yield test_client


def staged(settings: RegistrySettings) -> dict[str, dict[str, Any]]:
    """The outbox's records, by pilot."""
    with opened(settings.registry.database_url) as keys, keys.registry.session() as session:
        records = [orjson.loads(row.value) for row in session.scalars(select(OutboxEvent))]
    return {record["pilot"]: record for record in records}


def test_a_changes_event_carries_the_context_the_api_passed_on(
    client: TestClient, settings: RegistrySettings
) -> None:
    game = RequestContext(
        received_at=datetime.now(UTC),
        host="game.example",
        user_agent="ab/2.3",
        source="game-server",
        client_ip="203.0.113.0",
    )
    passed = client.post(
        "/v1/pilots", json={"pilot": "Maverick", **ENROLMENT}, headers=forwarded(game)
    )
    direct = client.post(
        "/v1/pilots", json={"pilot": "Goose", **ENROLMENT}, headers={"User-Agent": "curl/8"}
    )
    assert (passed.status_code, direct.status_code) == (201, 201)
    records = staged(settings)
    context = ("host", "user_agent", "source", "client_ip")
    assert [records["Maverick"][field] for field in context] == [
        "game.example",
        "ab/2.3",
        "game-server",
        "203.0.113.0",
    ]
    assert [records["Goose"][field] for field in context] == ["testserver", "curl/8", None, None]
    assert records["Maverick"]["event_id"] == passed.json()["event_id"]


def test_a_stated_ship_cost_must_be_the_fleets(client: TestClient) -> None:
    refused = client.post("/v1/pilots", json={"pilot": "X", **ENROLMENT, "ship_cost": 1})
    assert (refused.status_code, refused.json()["detail"]) == (
        422,
        "ship_cost: a Destroyer of the Empire fleet costs 5200",
    )


def test_the_api_learns_whom_a_key_was_given_to_by_its_digest(
    client: TestClient, settings: RegistrySettings
) -> None:
    with opened(settings.registry.database_url) as keys:
        key = keys.create("game-server")
        keys.revoke("game-server")
        operators = keys.create("on-call", operator=True)
    found = client.get(f"/v1/write-keys/{hashlib.sha256(key.encode()).hexdigest()}")
    assert found.json() == {"name": "game-server", "revoked": True, "operator": False}
    found = client.get(f"/v1/write-keys/{hashlib.sha256(operators.encode()).hexdigest()}")
    assert found.json() == {"name": "on-call", "revoked": False, "operator": True}
    assert client.get(f"/v1/write-keys/{'0' * 64}").status_code == 404


def test_ready_once_its_database_is_migrated(client: TestClient) -> None:
    assert client.get("/readyz").json() == {"status": "ready"}


def test_the_backlog_kafka_cannot_take_is_in_its_metrics(client: TestClient) -> None:
    assert client.post("/v1/pilots", json={"pilot": "Iceman", **ENROLMENT}).status_code == 201
    deadline = time.monotonic() + 30
    while "questlog_registry_outbox_events 1.0" not in (metrics := client.get("/metrics").text):
        assert time.monotonic() < deadline, metrics
        time.sleep(0.2)

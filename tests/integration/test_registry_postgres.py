"""The pilot registry on PostgreSQL, its database on Kubernetes: replicas that start
together migrate one at a time, names stay unique, one replica's relay skips the outbox rows
another's is sending, and when the database is down (also as the registry starts) or the
registry itself is, only the registry's routes answer 503 through the API."""

import json
import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from questlog_ingest.app import create_app
from questlog_registry.keys import DuplicateKey, Holder, WriteKeys
from questlog_registry.models import Base
from questlog_registry.store import (
    DuplicatePilot,
    Record,
    Registry,
    migrate,
    open_engine,
)
from questlog_settings import ApiSettings, get_api_settings

from questlog.settings import Settings
from tests.helpers import free_port, start_registry, stop, unique
from tests.postgres import DATABASE, PASSWORD, USER, postgres_server

BEARER = {"Authorization": "Bearer qlk_cannot-be-checked-while-the-database-is-down"}
# The key the registry stores once it has migrated its database (as a deployment's secret).
PROVISIONED = "qlk_provisioned-on-postgres"


def migrate_as_a_replica(url: str, start: Any) -> None:
    engine = open_engine(url, password=PASSWORD)
    start.wait()  # every replica is ready: they migrate at the same moment
    migrate(engine)
    engine.dispose()


def test_registry_migrates_and_refuses_duplicates_on_postgres(postgres: int) -> None:
    url = f"postgresql+psycopg://{USER}@127.0.0.1:{postgres}/{DATABASE}"
    # Separate processes, like replicas (Alembic's context is global to a process).
    spawn = multiprocessing.get_context("spawn")
    with spawn.Manager() as manager, ProcessPoolExecutor(3, mp_context=spawn) as replicas:
        start = manager.Barrier(3)
        # Raises if two replicas tried to create the same table.
        list(replicas.map(migrate_as_a_replica, [url] * 3, [start] * 3))
    engines = [open_engine(url, password=PASSWORD) for _ in range(3)]
    with engines[0].connect() as connection:
        assert connection.dialect.name == "postgresql"
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    registry, other = Registry(engines[1]), Registry(engines[2])
    registry.enrol("Maverick", "Empire", "Destroyer", "p1", stage)
    with pytest.raises(DuplicatePilot):
        other.enrol("maverick", "Empire", "Destroyer", "p2", stage)
    assert [p["pilot"] for p in registry.listing()["pilots"]] == ["Maverick"]
    assert registry.outbox_size() == 1
    # While one replica's relay sends the outbox's rows, another's skips them.
    sent: list[list[str]] = []
    registry.relay(lambda _: sent.append(other.relay(lambda _: None, limit=10)), limit=10)
    assert sent == [[]] and registry.outbox_size() == 0
    key = WriteKeys(registry).create("game-server")
    with pytest.raises(DuplicateKey):
        WriteKeys(Registry(engines[2])).create("game-server")
    WriteKeys(Registry(engines[2])).revoke("game-server")
    assert WriteKeys(registry).holder(key) == Holder("game-server", revoked=True)
    for engine in engines:
        engine.dispose()


def stage(event: dict[str, Any]) -> Record:
    return event["user_id"], json.dumps(event).encode()


@contextmanager
def api_on_registry(stack: Settings, port: int, retry_after: int) -> Iterator[TestClient]:
    """The API, publishing to a topic of its own, in front of a registry's process whose
    database is PostgreSQL at ``port``."""
    process, url = start_registry(
        {
            "QUESTLOG__REGISTRY__DATABASE_URL": f"postgresql+psycopg://{USER}@127.0.0.1:{port}/"
            f"{DATABASE}",
            "QUESTLOG__REGISTRY__DATABASE_PASSWORD": PASSWORD,
            "QUESTLOG__REGISTRY__RETRY_AFTER_SECONDS": str(retry_after),
            "QUESTLOG__REGISTRY__PROVISIONED_WRITE_KEY": PROVISIONED,
            "QUESTLOG__KAFKA__BOOTSTRAP": stack.kafka.bootstrap,
            "QUESTLOG__KAFKA__EVENTS_TOPIC": unique("events"),
        }
    )
    settings = ApiSettings(
        kafka={"bootstrap": stack.kafka.bootstrap, "events_topic": unique("events")},
        registry={"url": url},
    )
    app = create_app()
    app.dependency_overrides[get_api_settings] = lambda: settings
    try:
        with TestClient(app, headers={"Authorization": f"Bearer {PROVISIONED}"}) as client:
            yield client
    finally:
        stop(process)


def test_an_unreachable_registry_is_answered_503_and_events_keep_flowing(
    stack: Settings,
) -> None:
    with postgres_server() as server, api_on_registry(stack, server.port, 4) as client:
        enrolment = {"pilot": "Goose", "alliance": "Empire", "ship": "Destroyer"}
        assert client.post("/v1/pilots", json={**enrolment, "player": "p1"}).status_code == 201
        server.stop()
        refused = client.get("/v1/pilots")
        assert (refused.status_code, refused.headers["Retry-After"]) == (503, "4")
        assert "the registry's database cannot be reached" in refused.json()["detail"]
        sword = client.get("/purchase_a_sword")
        assert (sword.status_code, sword.text) == (200, "Sword Purchased!\n")


def test_the_registry_starts_without_its_database_and_migrates_it_once_reachable(
    stack: Settings,
) -> None:
    port = free_port()  # nothing listens there yet
    with api_on_registry(stack, port, 1) as client:
        refused = client.get("/v1/pilots")
        assert (refused.status_code, refused.headers["Retry-After"]) == (503, "1")
        assert "the registry (pilots and write keys) cannot be used yet" in refused.json()["detail"]
        sword = client.get("/purchase_a_sword")
        assert (sword.status_code, sword.text) == (200, "Sword Purchased!\n")
        # A write key cannot be checked either: retry later, not "unknown key".
        keyed = client.post(
            "/v1/events", json={"event_type": "default", "user_id": "p1"}, headers=BEARER
        )
        assert (keyed.status_code, keyed.headers["Retry-After"]) == (503, "1")
        with postgres_server(port):
            deadline = time.monotonic() + 30
            while (listing := client.get("/v1/pilots")).status_code == 503:
                assert time.monotonic() < deadline, listing.json()
                time.sleep(0.5)
            assert listing.json() == {"total": 0, "pilots": []}
            enrolment = {"pilot": "Iceman", "alliance": "Empire", "ship": "Destroyer"}
            assert client.post("/v1/pilots", json={**enrolment, "player": "p1"}).status_code == 201


def test_without_its_registry_the_api_answers_its_routes_503_and_takes_events(
    stack: Settings,
) -> None:
    """The registry's process down: nothing listens where the API reaches it."""
    settings = ApiSettings(
        kafka={"bootstrap": stack.kafka.bootstrap, "events_topic": unique("events")},
        registry={"url": f"http://127.0.0.1:{free_port()}"},
        api={"retry_after_seconds": 2},
    )
    app = create_app()
    app.dependency_overrides[get_api_settings] = lambda: settings
    with TestClient(app) as client:
        for refused in (
            client.get("/pilots"),
            client.post("/Enrol_pilot"),
            client.post(
                "/v1/events", json={"event_type": "default", "user_id": "p1"}, headers=BEARER
            ),
        ):
            assert (refused.status_code, refused.headers["Retry-After"]) == (503, "2")
            assert "the registry at http://127.0.0.1:" in refused.json()["detail"]
            assert "cannot be reached" in refused.json()["detail"]
        sword = client.get("/purchase_a_sword")
        assert (sword.status_code, sword.text) == (200, "Sword Purchased!\n")

"""The pilot registry's rules, on a real SQLite database per test."""

import json
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from questlog_registry.models import Base
from questlog_registry.store import (
    DuplicatePilot,
    InvalidPilot,
    Record,
    Registry,
    UnknownPilot,
    migrate,
    open_engine,
)
from sqlalchemy import Engine

WEAPONS = {"missile_launchers": 2, "cannons": 4, "missiles": 20, "torpedoes": 6}


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = open_engine(f"sqlite:///{tmp_path / 'nested' / 'registry.db'}")
    migrate(engine)
    return engine


@pytest.fixture
def registry(engine: Engine) -> Registry:
    return Registry(engine)


class Recorder:
    """A stage that keeps the events it was given and stages them as JSON keyed by user, or
    refuses them as the catalog would."""

    def __init__(self, refuse: bool = False) -> None:
        self.events: list[dict[str, Any]] = []
        self.refuse = refuse

    def __call__(self, event: dict[str, Any]) -> Record:
        if self.refuse:
            raise InvalidPilot("user_id: refused by the catalog")
        self.events.append(event)
        return event["user_id"], json.dumps(event).encode()


class Kafka:
    """A send that keeps what it was given, or fails like a Kafka that is down."""

    def __init__(self, down: bool = False) -> None:
        self.records: list[Record] = []
        self.down = down

    def __call__(self, records: list[Record]) -> None:
        if self.down:
            raise ConnectionError("Kafka is down")
        self.records += records


def test_migrations_create_what_the_models_describe(engine: Engine) -> None:
    migrate(engine)  # a second run finds nothing to do
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_enrolment_is_stored_and_emitted(registry: Registry) -> None:
    emit = Recorder()
    pilot = registry.enrol("  Maverick ", "Empire", "Dreadnought", "player-7", emit)
    assert (pilot["pilot"], pilot["ship_cost"], pilot["fittings"]) == ("Maverick", 30_000, [])
    [event] = emit.events
    assert event == {
        "event_type": "enrol_pilot",
        "event_id": pilot["event_id"],
        "occurred_at": pilot["enrolled_at"],
        "user_id": "player-7",
        "pilot": "Maverick",
        "allegiance": "Empire",
        "ship": "Dreadnought",
        "ship_cost": 30_000,
    }
    assert event["occurred_at"].endswith("+00:00")
    assert registry.listing()["pilots"] == [pilot]


def test_names_are_unique_whatever_their_case(registry: Registry) -> None:
    emit = Recorder()
    registry.enrol("Maverick", "Empire", "Destroyer", "p1", emit)
    with pytest.raises(DuplicatePilot, match="'MAVERICK' already exists") as refused:
        registry.enrol("MAVERICK", "Federation", "Frigate", "p2", emit)
    assert refused.value.status == 409
    assert len(emit.events) == 1 and registry.listing()["total"] == 1


@pytest.mark.parametrize(
    ("name", "alliance", "ship", "stated", "reason"),
    [
        ("A", "Pirates", "Sloop", None, "unknown alliance 'Pirates'; choose one of Federation"),
        ("A", "Empire", "Frigate", None, "the Empire fleet has no ship 'Frigate'; choose one of"),
        ("A", "Empire", "Destroyer", 10, "ship_cost: a Destroyer of the Empire fleet costs 5200"),
        ("  ", "Empire", "Destroyer", None, "pilot: a pilot is required"),
        ("x" * 65, "Empire", "Destroyer", None, "pilot: at most 64 characters"),
        ("Ice\nman", "Empire", "Destroyer", None, "pilot: control characters are not allowed"),
    ],
)
def test_an_invalid_enrolment_is_refused_with_its_reason(
    registry: Registry, name: str, alliance: str, ship: str, stated: int | None, reason: str
) -> None:
    emit = Recorder()
    with pytest.raises(InvalidPilot) as refused:
        registry.enrol(name, alliance, ship, "p1", emit, stated)
    assert str(refused.value).startswith(reason)
    assert refused.value.status == 422
    assert emit.events == [] and registry.listing()["total"] == 0


def test_a_player_id_is_checked_like_a_name(registry: Registry) -> None:
    with pytest.raises(InvalidPilot, match="player: control characters are not allowed"):
        registry.enrol("Jester", "Empire", "Destroyer", "p\x00", Recorder())
    with pytest.raises(InvalidPilot, match="player: a player is required"):
        registry.enrol("Jester", "Empire", "Destroyer", " ", Recorder())


def test_nothing_is_stored_when_the_event_is_refused(registry: Registry) -> None:
    with pytest.raises(InvalidPilot):
        registry.enrol("Goose", "Federation", "Frigate", "p1", Recorder(refuse=True))
    assert registry.listing()["total"] == 0 and registry.outbox_size() == 0
    registry.enrol("Goose", "Federation", "Frigate", "p1", Recorder())
    with pytest.raises(InvalidPilot):
        registry.fit("Goose", WEAPONS, Recorder(refuse=True))
    assert registry.listing()["pilots"][0]["fittings"] == []
    assert registry.outbox_size() == 1


def test_the_relay_sends_the_outbox_in_order_and_keeps_what_kafka_refused(
    registry: Registry,
) -> None:
    staged = Recorder()
    registry.enrol("Goose", "Federation", "Frigate", "p1", staged)
    registry.fit("Goose", WEAPONS, staged)
    registry.enrol("Viper", "Empire", "Destroyer", "p2", staged)
    with pytest.raises(ConnectionError):
        registry.relay(Kafka(down=True), limit=10)
    assert registry.outbox_size() == 3
    kafka = Kafka()
    assert registry.relay(kafka, limit=2) == ["enrol_pilot", "fit_ship"]
    assert registry.relay(kafka, limit=2) == ["enrol_pilot"]
    assert registry.relay(kafka, limit=2) == [] and registry.outbox_size() == 0
    assert kafka.records == [(e["user_id"], json.dumps(e).encode()) for e in staged.events]


def test_fittings_belong_to_an_enrolled_pilot(registry: Registry) -> None:
    with pytest.raises(UnknownPilot, match="no pilot named 'Nobody'"):
        registry.fit("Nobody", WEAPONS, Recorder())
    registry.enrol("Iceman", "Free Traders", "Shuttle", "p3", Recorder())
    emit = Recorder()
    fitted = registry.fit("iceman", WEAPONS, emit)
    assert fitted["fittings"][0] | {"event_id": "", "fitted_at": ""} == {
        **WEAPONS,
        "event_id": "",
        "fitted_at": "",
    }
    [event] = emit.events
    assert event["event_type"] == "fit_ship"
    assert (event["pilot"], event["user_id"], event["cannons"]) == ("Iceman", "p3", 4)


def test_replay_gives_every_event_again_in_the_order_they_happened(registry: Registry) -> None:
    emitted = Recorder()
    registry.enrol("First", "Empire", "Interceptor", "p1", emitted)
    registry.enrol("Second", "Empire", "Interceptor", "p2", emitted)
    registry.fit("First", WEAPONS, emitted)
    registry.fit("Second", WEAPONS, emitted)
    assert registry.events() == emitted.events
    assert [p["pilot"] for p in registry.listing(limit=1)["pilots"]] == ["Second"]

"""The registry's outbox when the registry's process is killed (SIGKILL), on the stack: a
pilot enrolled while Kafka could not take its event is kept, and the event is published
once a registry is back; an event Kafka acknowledged before its outbox row was removed is
published again with its event id, and the lake keeps it once. Nothing lost, nothing
doubled."""

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from questlog_registry.models import OutboxEvent
from questlog_registry.store import Registry, open_engine
from sqlalchemy import select

from questlog.settings import Settings
from questlog.stack.probes import topic_ends
from tests.helpers import Trino, eventually, free_port, read_topic, start_registry, unique

Start = Callable[[str], str]


@pytest.fixture
def registry_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'registry.db'}"


@pytest.fixture
def restart(registry_url: str) -> Iterator[Start]:
    """Starts the registry's process on ``registry_url``, publishing to the Kafka given;
    kills the one started before (SIGKILL: no shutdown, no last relay pass). Gives its URL."""
    started: list[subprocess.Popen[bytes]] = []

    def start(kafka: str) -> str:
        if started:
            started[-1].kill()
            started[-1].wait(timeout=30)
        process, url = start_registry(
            {
                "QUESTLOG__REGISTRY__DATABASE_URL": registry_url,
                "QUESTLOG__KAFKA__BOOTSTRAP": kafka,
                "QUESTLOG__REGISTRY__DELIVERY_TIMEOUT_SECONDS": "2",
            }
        )
        started.append(process)
        return url

    yield start
    if started:
        started[-1].kill()
        started[-1].wait(timeout=30)


def until_sent(registry: Registry, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while registry.outbox_size():
        assert time.monotonic() < deadline, f"the outbox still holds {registry.outbox_size()}"
        time.sleep(0.5)


def test_a_killed_registry_loses_and_doubles_no_event(
    stack: Settings, trino: Trino, registry_url: str, restart: Start
) -> None:
    registry = Registry(open_engine(registry_url))
    name, player = unique("Outboxed"), unique("outbox-player")
    before = topic_ends(stack.kafka.bootstrap, "events")
    enrolment = {"pilot": name, "alliance": "Empire", "ship": "Destroyer", "player": player}

    service = restart(f"127.0.0.1:{free_port()}")  # no broker listens there
    enrolled = httpx.post(f"{service}/v1/pilots", json=enrolment, timeout=30)
    assert enrolled.status_code == 201, enrolled.text
    event_id = enrolled.json()["event_id"]
    with registry.session() as session:
        [kept] = session.scalars(select(OutboxEvent)).all()
        session.expunge(kept)
    assert kept.event_id == event_id

    # Killed with the event in the outbox; the next registry, on the stack's Kafka, sends it.
    restart(stack.kafka.bootstrap)
    until_sent(registry)

    def published() -> list[str]:
        records = read_topic(stack.kafka.bootstrap, "events", since=before)
        return [r for _, value in records if (r := json.loads(value))["event_id"] == event_id]

    assert len(published()) == 1
    landed = f"SELECT count(*) FROM hive.default.pilot_enrolments WHERE pilot = '{name}'"
    eventually(trino, landed, [[1]])

    # Killed after Kafka acknowledged it but before its row was removed: sent again.
    with registry.session() as session, session.begin():
        session.add(
            OutboxEvent(
                event_id=kept.event_id,
                event_type=kept.event_type,
                key=kept.key,
                value=kept.value,
                created_at=kept.created_at,
            )
        )
    restart(stack.kafka.bootstrap)
    until_sent(registry)
    assert len(published()) == 2
    assert published()[0] == published()[1]
    # A later enrolment lands, so the stream has read past the repeat: still one row.
    later = enrolment | {"pilot": unique("Later")}
    service = restart(stack.kafka.bootstrap)
    assert httpx.post(f"{service}/v1/pilots", json=later, timeout=30).status_code == 201
    eventually(
        trino,
        f"SELECT pilot, count(*) FROM hive.default.pilot_enrolments WHERE user_id = '{player}' "
        "GROUP BY pilot ORDER BY pilot",
        sorted([[name, 1], [later["pilot"], 1]]),
    )

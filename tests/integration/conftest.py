"""Integration tests run against the real local stack: the session starts it if it is not
already running (and stops it again at the end if it started it), and leaves it as it found
it: the tables and the registry's rows the tests add are removed at the end."""

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from questlog_registry.store import Registry, open_engine
from questlog_settings import ApiSettings
from sqlalchemy import delete

from questlog.settings import LocalRegistry, Settings, get_settings
from questlog.stack import lifecycle, write_key
from questlog.stack.probes import QueryFailed, metastore, trino_query
from tests.helpers import REGISTRY_ROWS, last_ids, new_write_key, start_registry, stop, unique
from tests.postgres import postgres_server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def stack() -> Iterator[Settings]:
    settings = get_settings()
    was_running = all(s.ready for s in lifecycle.status(settings))
    if not was_running:
        lifecycle.up(settings)
    write_key.export(settings)  # what the tests post to the stack's API is sent with its key
    try:
        with left_as_found(settings):
            yield settings
    finally:
        if not was_running:
            lifecycle.down(settings)


@contextmanager
def left_as_found(stack: Settings) -> Iterator[None]:
    """Removes what the tests added to what the demo shows: tables of ``default`` (Trino's
    ``SHOW TABLES FROM hive.default``) and the registry's pilots, fittings and write keys.
    The events tests post stay in the event tables, beside the demo's."""
    registry = Registry(open_engine(stack.registry.database_url))
    tables, last = default_tables(stack), last_ids(registry)
    yield
    for table in sorted(default_tables(stack) - tables):
        drop(stack, table)
    with registry.session() as session, session.begin():
        for model in REGISTRY_ROWS:
            session.execute(delete(model).where(model.id > last[model]))
    registry.engine.dispose()
    assert default_tables(stack) == tables, "tables the tests made are still in default"


def default_tables(stack: Settings) -> set[str]:
    rows = trino_query(stack.host, stack.trino.port, "SHOW TABLES FROM hive.default")
    return {str(table) for (table,) in rows}


def drop(stack: Settings, table: str) -> None:
    """Drop ``table`` of ``default``: a Hive table through Trino; an Iceberg one (Trino's
    Iceberg catalog is read-only) from the metastore, and its folder from the lake."""
    try:
        trino_query(stack.host, stack.trino.port, f'DROP TABLE hive.default."{table}"')
    except QueryFailed:
        with metastore(stack.host, stack.metastore.port) as client:
            client.drop_table("default", table, True)
        shutil.rmtree(stack.lake.dir / table, ignore_errors=True)


@pytest.fixture(scope="session")
def registry_topic() -> str:
    """The topic the tests' own registry (``registry``) relays its outbox to."""
    return unique("registry-events")


@pytest.fixture(scope="session")
def registry(
    stack: Settings, registry_topic: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalRegistry]:
    """A pilot registry of the tests' own, for the APIs they start: its process, on a
    database of its own, relaying to a topic of its own. Its settings (where it answers, its
    database); it holds a write key named ``tests`` (``tests_key``)."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('registry') / 'registry.db'}"
    process, url = start_registry(
        {
            "QUESTLOG__REGISTRY__DATABASE_URL": database_url,
            "QUESTLOG__KAFKA__BOOTSTRAP": stack.kafka.bootstrap,
            "QUESTLOG__KAFKA__EVENTS_TOPIC": registry_topic,
        }
    )
    try:
        yield stack.registry.model_copy(update={"url": url, "database_url": database_url})
    finally:
        stop(process)


@pytest.fixture(scope="session")
def tests_key(registry: LocalRegistry) -> str:
    """A write key named ``tests`` of the tests' own registry."""
    return new_write_key(registry.database_url)


@pytest.fixture
def api_settings(stack: Settings, registry: LocalRegistry) -> ApiSettings:
    """Settings of an API of a test's own: the stack's Kafka with topics of its own, the
    tests' registry, small limits."""
    return ApiSettings(
        kafka={
            "bootstrap": stack.kafka.bootstrap,
            "events_topic": unique("events"),
            "invalid_topic": unique("invalid"),
        },
        registry={"url": registry.url},
        api={
            "max_body_bytes": 64 * 1024,
            "max_batch_events": 50,
            "delivery_timeout_seconds": 5,
            "retry_after_seconds": 3,
        },
    )


@pytest.fixture
def bearer(tests_key: str) -> dict[str, str]:
    """The Authorization header of a write key named ``tests``."""
    return {"Authorization": f"Bearer {tests_key}"}


@pytest.fixture
def trino(stack: Settings) -> Callable[[str], list[list[object]]]:
    """Run one statement on the stack's Trino; returns its rows."""

    def query(sql: str) -> list[list[object]]:
        return trino_query(stack.host, stack.trino.port, sql, timeout=60)

    return query


@pytest.fixture
def postgres() -> Iterator[int]:
    """The port of a PostgreSQL server started for the test (user and password in
    tests/postgres.py)."""
    with postgres_server() as server:
        yield server.port

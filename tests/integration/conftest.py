"""Integration tests run against the real local stack: the session starts it if it is not
already running (and stops it again at the end if it started it)."""

from collections.abc import Callable, Iterator

import pytest

from questlog.settings import StackSettings, get_settings
from questlog.stack import lifecycle, write_key
from questlog.stack.probes import trino_query
from tests.postgres import postgres_server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def stack() -> Iterator[StackSettings]:
    settings = get_settings()
    was_running = all(s.ready for s in lifecycle.status(settings))
    if not was_running:
        lifecycle.up(settings)
    write_key.export(settings)  # what the tests post to the stack's API is sent with its key
    yield settings
    if not was_running:
        lifecycle.down(settings)


@pytest.fixture
def trino(stack: StackSettings) -> Callable[[str], list[list[object]]]:
    """Run one statement on the stack's Trino; returns its rows."""

    def query(sql: str) -> list[list[object]]:
        return trino_query(stack.host, stack.trino_port, sql, timeout=60)

    return query


@pytest.fixture
def postgres() -> Iterator[int]:
    """The port of a PostgreSQL server started for the test (user and password in
    tests/postgres.py)."""
    with postgres_server() as server:
        yield server.port

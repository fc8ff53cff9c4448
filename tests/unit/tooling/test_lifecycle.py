import socket
from pathlib import Path

import pytest

from questlog.settings import Settings
from questlog.stack import lifecycle
from tests.helpers import free_port


def test_a_taken_port_is_named_and_nothing_starts(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        settings = Settings(
            state_dir=tmp_path / "state",
            cache_dir=tmp_path / "cache",
            kafka={"port": taken, "controller_port": free_port()},
            metastore={"port": free_port()},
            trino={"port": free_port()},
        )
        lines: list[str] = []
        with pytest.raises(lifecycle.StackError) as raised:
            lifecycle.up(settings, lines.append)
    message = str(raised.value)
    assert f"port {taken} (kafka) on 127.0.0.1 is already in use" in message
    assert "QUESTLOG__KAFKA__PORT" in message
    assert "metastore" not in message and "trino" not in message
    # Nothing was fetched or started.
    assert not (tmp_path / "cache").exists()
    assert not (tmp_path / "state" / "run").exists()


def test_clean_removes_the_state(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "state", cache_dir=tmp_path / "cache")
    (settings.lake.dir / "t").mkdir(parents=True)
    (settings.cache_dir / "lib").mkdir(parents=True)
    lines: list[str] = []
    lifecycle.clean(settings, lines.append)
    assert not settings.state_dir.exists()
    assert (settings.cache_dir / "lib").exists(), "clean keeps the downloads"
    assert "kafka was not running." in lines


def test_status_table_totals_memory() -> None:
    statuses = [
        lifecycle.ComponentStatus("kafka", "127.0.0.1:9092", 10, 2**30, "3 topics", True, "k.log"),
        lifecycle.ComponentStatus(
            "trino", "http://127.0.0.1:8080", None, 0, "not running", False, "t.log"
        ),
    ]
    lines = lifecycle.format_status(statuses)
    assert lines[1].split()[:3] == ["kafka", "up", "127.0.0.1:9092"]
    assert lines[2].split()[:2] == ["trino", "down"]
    assert lines[-1] == "total RSS of running components: 1.00 GiB"

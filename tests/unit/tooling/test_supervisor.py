import json
import socket
import subprocess
import sys
from pathlib import Path

import psutil

from questlog.settings import Settings
from questlog.stack import supervisor


def test_started_process_is_found_and_stopped(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    process = supervisor.start(settings, "sleeper", ["sleep", "60"], cwd=tmp_path / "work")
    try:
        found = supervisor.find(settings, "sleeper")
        assert found is not None and found.pid == process.pid
        assert supervisor.stop(settings, "sleeper", timeout=10)
        assert not psutil.pid_exists(process.pid) or process.status() == psutil.STATUS_ZOMBIE
        assert supervisor.find(settings, "sleeper") is None
        assert not supervisor.pid_file(settings, "sleeper").exists()
    finally:
        if process.is_running():
            process.kill()


def test_a_reused_pid_is_not_mistaken_for_ours(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    path = supervisor.pid_file(settings, "kafka")
    path.parent.mkdir(parents=True)
    # Our own pid, but with another start time: the process that wrote it is gone.
    me = psutil.Process()
    path.write_text(json.dumps({"pid": me.pid, "create_time": me.create_time() - 100}))
    assert supervisor.find(settings, "kafka") is None
    assert not path.exists()
    assert supervisor.stop(settings, "kafka") is False


def test_output_goes_to_the_log_file(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    process = supervisor.start(settings, "echo", ["echo", "hello from echo"], cwd=tmp_path)
    process.wait(10)
    assert "hello from echo" in supervisor.tail(supervisor.log_file(settings, "echo"))


def test_port_owner_names_the_listener() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        owner = supervisor.port_owner("127.0.0.1", port)
        assert owner is not None and f"pid {psutil.Process().pid}" in owner
    assert supervisor.port_owner("127.0.0.1", port) is None


def test_another_process_can_stop_our_child(tmp_path: Path) -> None:
    """`questlog down` stops what a test session (its parent) started: the child turns into
    a zombie until the parent reaps it, and must count as stopped all the same."""
    settings = Settings(state_dir=tmp_path)
    process = supervisor.start(settings, "sleeper", ["sleep", "60"], cwd=tmp_path)
    stopper = (
        "from pathlib import Path; from questlog.settings import Settings; "
        "from questlog.stack import supervisor; "
        f"print(supervisor.stop(Settings(state_dir=Path({str(tmp_path)!r})), 'sleeper', 5))"
    )
    try:
        result = subprocess.run(
            [sys.executable, "-c", stopper], capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "True"
        assert process.wait(5) == -15  # ended by SIGTERM, reaped here
    finally:
        if process.is_running():
            process.kill()


def test_failure_summary_shows_the_last_runs_errors_first(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    log = supervisor.log_file(settings, "trino")
    for run in ("first", "second"):
        supervisor.start(
            settings, "trino", ["echo", f"{run} run: ERROR bad config"], cwd=tmp_path
        ).wait(10)
    with log.open("a") as out:
        out.write("".join(f"\tat frame {i}\n" for i in range(30)))
    summary = supervisor.failure_summary(log).splitlines()
    assert summary[0] == "second run: ERROR bad config"
    assert "first run" not in "\n".join(summary)
    assert summary[-1] == "\tat frame 29"

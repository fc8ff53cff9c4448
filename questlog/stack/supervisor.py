"""Background processes with pid files: start detached, find again, stop cleanly.

A pid file records the pid and the process's start time, so a pid the kernel has since
given to another process is never mistaken for ours.
"""

import contextlib
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import psutil

from questlog.settings import Settings

START_MARK = "==== questlog starts"


def pid_file(settings: Settings, name: str) -> Path:
    return settings.state_dir / "run" / f"{name}.pid"


def log_file(settings: Settings, name: str) -> Path:
    return settings.state_dir / "logs" / f"{name}.log"


def find(settings: Settings, name: str) -> psutil.Process | None:
    """The running process started under ``name``, if there is one."""
    path = pid_file(settings, name)
    try:
        record = json.loads(path.read_text())
        process = psutil.Process(record["pid"])
        if process.create_time() == record["create_time"] and process.status() not in (
            psutil.STATUS_ZOMBIE,
            psutil.STATUS_DEAD,
        ):
            return process
    except (FileNotFoundError, ValueError, KeyError, psutil.Error):
        pass
    path.unlink(missing_ok=True)
    return None


def tree_rss(process: psutil.Process) -> int:
    """Resident memory of a process and its children (the streaming app's JVM runs its
    Python driver and workers as children)."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):  # exited meanwhile
            total += member.memory_info().rss
    return total


def start(
    settings: Settings,
    name: str,
    command: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
) -> psutil.Process:
    """Start ``command`` in its own session, output appended to its log file, with ``env``
    added to this process's environment."""
    log_path = log_file(settings, name)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cwd.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"{START_MARK} {name}: {' '.join(command)}\n".encode())
        log.flush()
        popen = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
    process = psutil.Process(popen.pid)
    path = pid_file(settings, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": process.pid, "create_time": process.create_time()}))
    return process


def stop(settings: Settings, name: str, timeout: float = 60.0) -> bool:
    """Ask the process to stop (SIGTERM), kill it after ``timeout``; False if none ran."""
    process = find(settings, name)
    if process is None:
        return False
    process.terminate()
    if not _wait_gone(process, timeout):
        process.kill()
        if not _wait_gone(process, 10):
            raise RuntimeError(f"{name} (pid {process.pid}) did not exit after SIGKILL")
    pid_file(settings, name).unlink(missing_ok=True)
    return True


def _wait_gone(process: psutil.Process, timeout: float) -> bool:
    """Wait until the process has exited. A process started by another process (a test
    session, say) stays a zombie until that parent reaps it; it has exited all the same."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            process.wait(0.2)  # reaps it if it is our child
            return True
        except psutil.TimeoutExpired:
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
    return False


def port_owner(host: str, port: int) -> str | None:
    """None if ``host:port`` is free to listen on, else a description of who holds it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
            return None
        except OSError:
            pass
    try:
        for connection in psutil.net_connections("tcp"):
            if (
                connection.status == psutil.CONN_LISTEN
                and connection.laddr
                and connection.laddr.port == port
                and connection.pid
            ):
                return f"pid {connection.pid} ({psutil.Process(connection.pid).name()})"
    except psutil.Error:
        pass
    return "another process"


def failure_summary(path: Path) -> str:
    """What the log says since the process's last start: its first error lines, then its end."""
    text = tail(path, 10_000)
    run = text[text.rfind(START_MARK) :].splitlines()[1:]
    errors = [line for line in run if "ERROR" in line or "Exception" in line][:5]
    return "\n".join([*errors, "...", *run[-10:]]) if errors else "\n".join(run[-20:])


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "".join(path.read_text(errors="replace").splitlines(keepends=True)[-lines:])
    except FileNotFoundError:
        return ""

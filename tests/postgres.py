"""A real PostgreSQL server for a test: the database the metastore and the pilot registry
use on Kubernetes."""

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import free_port

DATABASE, USER, PASSWORD = "metastore", "hive", "s3cret-pw"


def postgres_bin() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if not found:
        pytest.fail("PostgreSQL's initdb was not found; `make test-deps` installs it")
    return Path(found[-1]).parent


def as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root; run it as the package's postgres user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass(frozen=True)
class Server:
    port: int
    stop: Callable[[], None]  # a test may stop it early, as an outage


@contextmanager
def postgres_server(port: int | None = None) -> Iterator[Server]:
    """A PostgreSQL server that asks for a password, on ``port`` or a free one, for one
    test."""
    bin_dir, port = postgres_bin(), port or free_port()
    data = Path(tempfile.mkdtemp(prefix="questlog-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
    run = lambda *args: subprocess.run(as_server_user([*args]), check=True, capture_output=True)  # noqa: E731
    (data / "pwfile").write_text(PASSWORD)
    if os.geteuid() == 0:
        shutil.chown(data / "pwfile", "postgres")
    run(
        str(bin_dir / "initdb"),
        "-D",
        str(data / "db"),
        "-U",
        USER,
        "--auth=scram-sha-256",
        f"--pwfile={data / 'pwfile'}",
    )
    stopped: list[bool] = []

    def stop() -> None:
        if not stopped:
            run(str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-m", "fast", "-w", "stop")
            stopped.append(True)

    options = f"-p {port} -h 127.0.0.1 -k {data}"
    run(
        str(bin_dir / "pg_ctl"),
        "-D",
        str(data / "db"),
        "-o",
        options,
        "-l",
        str(data / "log"),
        "-w",
        "start",
    )
    try:
        run(
            "env",
            f"PGPASSWORD={PASSWORD}",
            str(bin_dir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            USER,
            DATABASE,
        )
        yield Server(port, stop)
    finally:
        stop()
        shutil.rmtree(data, ignore_errors=True)

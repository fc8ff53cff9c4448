"""The Hive Metastore on PostgreSQL, the database it uses on Kubernetes: a real PostgreSQL
server that asks for a password is started for the test, and a second metastore creates
its schema there. As in the Helm chart, hive-site.xml names the password only as
``${env.QUESTLOG_METASTORE_DB_PASSWORD}``, which the metastore reads from its environment."""

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from questlog.settings import StackSettings
from questlog.stack import lifecycle, supervisor
from questlog.stack.components import Metastore
from questlog.stack.probes import metastore_databases
from tests.helpers import free_port

DATABASE, USER, PASSWORD = "metastore", "hive", "s3cret-pw"
PASSWORD_ENV = "QUESTLOG_METASTORE_DB_PASSWORD"


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


@pytest.fixture
def postgres() -> Iterator[int]:
    bin_dir, port = postgres_bin(), free_port()
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
        yield port
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-m", "fast", "-w", "stop")
        shutil.rmtree(data, ignore_errors=True)


def test_metastore_keeps_its_schema_in_postgres(
    stack: StackSettings, postgres: int, tmp_path: Path
) -> None:
    settings = StackSettings(
        state_dir=tmp_path,
        cache_dir=stack.cache_dir,
        metastore_port=free_port(),
        metastore_db_url=f"jdbc:postgresql://127.0.0.1:{postgres}/{DATABASE}",
        metastore_db_user=USER,
        metastore_db_password=f"${{env.{PASSWORD_ENV}}}",
    )
    metastore = Metastore(settings)
    metastore.prepare()
    supervisor.start(
        settings,
        metastore.name,
        metastore.command(),
        cwd=metastore.data_dir,
        env={PASSWORD_ENV: PASSWORD},
    )
    try:
        lifecycle.wait_ready(settings, metastore, print)
        assert metastore_databases(settings.host, settings.metastore_port) == ["default"]
        rows = subprocess.run(
            [
                "env",
                f"PGPASSWORD={PASSWORD}",
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(postgres),
                "-U",
                USER,
                "-d",
                DATABASE,
                "-Atc",
                'SELECT "NAME", "DB_LOCATION_URI" FROM "DBS"',
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        assert rows == [f"default|{settings.lake_dir.as_uri().replace('file:///', 'file:/')}"]
    finally:
        supervisor.stop(settings, metastore.name)
    assert not (tmp_path / "data" / "metastore" / "metastore_db").exists(), "no Derby was used"

"""The Hive Metastore on PostgreSQL, the database it uses on Kubernetes: a real PostgreSQL
server that asks for a password is started for the test, and a second metastore creates
its schema there. As in the Helm chart, hive-site.xml names the password only as
``${env.QUESTLOG_METASTORE_DB_PASSWORD}``, which the metastore reads from its environment."""

import subprocess
from pathlib import Path

from questlog.settings import StackSettings
from questlog.stack import lifecycle, supervisor
from questlog.stack.components import Metastore
from questlog.stack.probes import metastore_databases
from tests.helpers import free_port
from tests.postgres import DATABASE, PASSWORD, USER

PASSWORD_ENV = "QUESTLOG_METASTORE_DB_PASSWORD"


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

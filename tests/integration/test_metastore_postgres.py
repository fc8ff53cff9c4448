"""The Hive Metastore on PostgreSQL, the database it uses on Kubernetes: a real PostgreSQL
server that asks for a password is started for the test, a second metastore creates its
schema there, and Iceberg commits to it without a lock. As in the Helm chart,
hive-site.xml names the password only as ``${env.QUESTLOG_METASTORE_DB_PASSWORD}``, which
the metastore reads from its environment."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from questlog.settings import StackSettings
from questlog.stack import lifecycle, supervisor
from questlog.stack.components import Metastore
from questlog.stack.probes import metastore_databases
from tests.helpers import free_port, unique
from tests.iceberg import assert_every_commit_landed_once, commit_concurrently
from tests.postgres import DATABASE, PASSWORD, USER

PASSWORD_ENV = "QUESTLOG_METASTORE_DB_PASSWORD"


@pytest.fixture
def metastore_on_postgres(
    stack: StackSettings, postgres: int, tmp_path: Path
) -> Iterator[StackSettings]:
    """A second metastore, its database on the test's PostgreSQL; yields its settings."""
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
        yield settings
    finally:
        supervisor.stop(settings, metastore.name)
    assert not (tmp_path / "data" / "metastore" / "metastore_db").exists(), "no Derby was used"


def test_metastore_keeps_its_schema_in_postgres(
    metastore_on_postgres: StackSettings, postgres: int
) -> None:
    settings = metastore_on_postgres
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


def test_two_writers_commit_to_one_iceberg_table_without_a_lock_on_postgres(
    metastore_on_postgres: StackSettings, spark: SparkSession
) -> None:
    # Iceberg's catalog on this metastore, beside the session's (which is on the stack's).
    catalog = unique("on_postgres")
    for key, value in {
        "": "org.apache.iceberg.spark.SparkCatalog",
        ".type": "hive",
        ".uri": metastore_on_postgres.metastore_uri,
        ".warehouse": metastore_on_postgres.lake_root,
    }.items():
        spark.conf.set(f"spark.sql.catalog.{catalog}{key}", value)
    table = f"{catalog}.default.{unique('iceberg')}"
    commit_concurrently(spark, table)
    assert_every_commit_landed_once(spark, table)

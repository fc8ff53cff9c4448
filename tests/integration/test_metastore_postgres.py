"""The Hive Metastore on PostgreSQL, the database it uses on Kubernetes: a real PostgreSQL
server that asks for a password is started for the test, a second metastore creates its
schema there, and Iceberg commits to it without a lock. As in the Helm chart,
hive-site.xml names the password only as ``${env.QUESTLOG__METASTORE__DB_PASSWORD}``, which
the metastore reads from its environment."""

import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from questlog.settings import Settings
from questlog.stack import lifecycle, supervisor
from questlog.stack.components import Metastore
from questlog.stack.probes import metastore_databases
from tests.helpers import free_port, unique
from tests.iceberg import assert_every_commit_landed_once, commit_concurrently
from tests.postgres import DATABASE, PASSWORD, USER

PASSWORD_ENV = "QUESTLOG__METASTORE__DB_PASSWORD"
CREATORS, CREATED = range(2), 8


@pytest.fixture
def metastore_on_postgres(stack: Settings, postgres: int, tmp_path: Path) -> Iterator[Settings]:
    """A second metastore, its database on the test's PostgreSQL; yields its settings."""
    settings = Settings(
        state_dir=tmp_path,
        cache_dir=stack.cache_dir,
        metastore={
            "port": free_port(),
            "db_url": f"jdbc:postgresql://127.0.0.1:{postgres}/{DATABASE}",
            "db_user": USER,
            "db_password": f"${{env.{PASSWORD_ENV}}}",
        },
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


def psql(port: int, query: str) -> list[str]:
    """The rows ``query`` returns from the metastore's database, one string each."""
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", USER, "-d", DATABASE, "-Atc", query],
        env={**os.environ, "PGPASSWORD": PASSWORD},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()


def test_metastore_keeps_its_schema_in_postgres(
    metastore_on_postgres: Settings, postgres: int
) -> None:
    settings = metastore_on_postgres
    assert metastore_databases(settings.host, settings.metastore.port) == ["default"]
    rows = psql(postgres, 'SELECT "NAME", "DB_LOCATION_URI" FROM "DBS"')
    assert rows == [f"default|{settings.lake.dir.as_uri().replace('file:///', 'file:/')}"]
    # The whole schema at start, with the unique indexes that keep a table or a database
    # from being created twice by two writers at once.
    indexes = psql(postgres, "SELECT tablename || '.' || indexname FROM pg_indexes")
    assert {"TBLS.UNIQUETABLE", "DBS.UNIQUE_DATABASE", "PARTITIONS.UNIQUEPARTITION"} <= set(indexes)


def use_iceberg_catalog(spark: SparkSession, settings: Settings) -> str:
    """An Iceberg catalog on this metastore, beside the session's (which is on the
    stack's); returns its name."""
    catalog = unique("on_postgres")
    for key, value in {
        "": "org.apache.iceberg.spark.SparkCatalog",
        ".type": "hive",
        ".uri": settings.metastore.uri,
        ".warehouse": settings.lake.root,
    }.items():
        spark.conf.set(f"spark.sql.catalog.{catalog}{key}", value)
    return catalog


def test_two_writers_commit_to_one_iceberg_table_without_a_lock_on_postgres(
    metastore_on_postgres: Settings, spark: SparkSession
) -> None:
    catalog = use_iceberg_catalog(spark, metastore_on_postgres)
    table = f"{catalog}.default.{unique('iceberg')}"
    commit_concurrently(spark, table)
    assert_every_commit_landed_once(spark, table)


def test_two_writers_creating_the_same_tables_at_once_make_each_table_once(
    metastore_on_postgres: Settings, postgres: int, spark: SparkSession
) -> None:
    """As the table job and the stream do when both start on a new cluster: the metastore's
    unique index on a table's name refuses the second create, which CREATE TABLE IF NOT
    EXISTS then takes as done (without it, both rows were kept and every later lookup of
    the table failed with "The query returned more than one instance")."""
    catalog = use_iceberg_catalog(spark, metastore_on_postgres)
    names = [unique("created_twice") for _ in range(CREATED)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(CREATORS))

    def create() -> None:
        try:
            for name in names:
                start.wait()
                spark.sql(
                    f"CREATE TABLE IF NOT EXISTS {catalog}.default.{name} (n BIGINT) USING iceberg"
                )
        except BaseException as error:  # re-raised in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=create) for _ in CREATORS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    rows = psql(postgres, 'SELECT "TBL_NAME" FROM "TBLS" WHERE "TBL_NAME" LIKE \'created_twice%\'')
    assert sorted(rows) == sorted(names)
    for name in names:
        assert spark.table(f"{catalog}.default.{name}").count() == 0

"""The table job: the database and one table per catalog event type (plus the dead-letter
table and the assessment tables) in the Hive Metastore, and their partitions kept in step
with the lake.

Idempotent: run it any number of times. A new event type gets its table; a new version
of a type that adds properties gets the new columns; a date folder in the lake that the
metastore does not know yet becomes a partition.

    spark-submit tables.py
"""

from collections.abc import Callable

from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from questlog.catalog import EventType, load_catalog
from questlog_spark.attempts import TABLES as ASSESSMENT_TABLES
from questlog_spark.lake import VERSION_DIR, LakeFiles, partition_folder, version_of
from questlog_spark.schemas import (
    DEAD_LETTER_COLUMNS,
    DEAD_LETTER_TABLE,
    PARTITION_COLUMN,
    event_columns,
    hive_columns,
    iceberg_columns,
)
from questlog_spark.settings import LakeSettings, get_lake_settings

PARTITION_PREFIX = f"{PARTITION_COLUMN}="
# Every Iceberg table's: format v2, Parquet files compressed as Trino and the Hive tables do,
# and more tries for a commit that loses the race to another writer's (Iceberg's default 4
# ran out once in CI, two writers committing back to back on a busy machine).
ICEBERG_PROPERTIES = (
    "'format-version'='2', 'write.parquet.compression-codec'='snappy', "
    "'commit.retry.num-retries'='10'"
)
Say = Callable[[str], None]


def table_columns(catalog: dict[str, EventType]) -> dict[str, T.StructType]:
    """Every table the lake has, with its columns (the partition column aside)."""
    tables = {t.table: event_columns(t) for t in catalog.values()}
    return {**tables, DEAD_LETTER_TABLE: DEAD_LETTER_COLUMNS}


def create_table_sql(name: str, columns: T.StructType, location: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {name} ({hive_columns(columns)}) "
        f"PARTITIONED BY ({PARTITION_COLUMN} date) STORED AS PARQUET "
        f"LOCATION '{location}' TBLPROPERTIES ('parquet.compression'='SNAPPY')"
    )


def create_iceberg_table_sql(name: str, columns: T.StructType, location: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {name} ({hive_columns(columns)}) USING iceberg "
        f"LOCATION '{location}' TBLPROPERTIES ({ICEBERG_PROPERTIES})"
    )


def is_iceberg(spark: SparkSession, name: str) -> bool:
    rows = spark.sql(f"DESCRIBE TABLE EXTENDED {name}").collect()
    return any(
        row["col_name"] == "Provider" and str(row["data_type"]).lower() == "iceberg" for row in rows
    )


def ensure_table(
    spark: SparkSession,
    database: str,
    table: str,
    columns: T.StructType,
    location: str,
    say: Say = print,
) -> None:
    """Create the table at ``location`` when it is missing, else add the columns it lacks."""
    name = f"`{database}`.`{table}`"
    if not spark.catalog.tableExists(f"{database}.{table}"):
        spark.sql(create_table_sql(name, columns, location))
        say(f"created table {database}.{table}")
        return
    add_missing_columns(spark, database, table, columns, say)


def ensure_iceberg_table(
    spark: SparkSession,
    database: str,
    table: str,
    columns: T.StructType,
    location: str,
    say: Say = print,
) -> None:
    """Create the unpartitioned Iceberg table at ``location`` when it is missing, else add
    the columns it lacks. A table of the same name in the older layout (Parquet in version
    folders) is dropped with its files first: only tables rebuilt whole from Kafka come here."""
    name, columns = f"`{database}`.`{table}`", iceberg_columns(columns)
    if spark.catalog.tableExists(f"{database}.{table}") and not is_iceberg(spark, name):
        spark.sql(f"DROP TABLE {name}")
        LakeFiles(spark, location).delete(location)
        say(f"dropped {database}.{table} of the older layout, to be rebuilt on Iceberg")
    if not spark.catalog.tableExists(f"{database}.{table}"):
        spark.sql(create_iceberg_table_sql(name, columns, location))
        say(f"created Iceberg table {database}.{table}")
        return
    add_missing_columns(spark, database, table, columns, say)


def add_missing_columns(
    spark: SparkSession, database: str, table: str, columns: T.StructType, say: Say
) -> None:
    name = f"`{database}`.`{table}`"
    existing = {column.name for column in spark.catalog.listColumns(f"{database}.{table}")}
    added = T.StructType([f for f in columns.fields if f.name not in existing])
    if added.fields:
        spark.sql(f"ALTER TABLE {name} ADD COLUMNS ({hive_columns(added)})")
        say(f"added columns {', '.join(added.fieldNames())} to {database}.{table}")


def ensure_tables(spark: SparkSession, settings: LakeSettings, say: Say = print) -> None:
    """Create what is missing: the database, each table, columns new catalog versions add.
    The assessment tables (Iceberg) are created empty until their batch job builds them (so
    queries of them answer before that)."""
    catalog = load_catalog(settings.catalog_dir)
    database = settings.database
    spark.sql(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    for table, columns in table_columns(catalog).items():
        ensure_table(spark, database, table, columns, settings.table_uri(table), say=say)
    ensure_assessment_tables(spark, settings, say)


def ensure_assessment_tables(spark: SparkSession, settings: LakeSettings, say: Say = print) -> None:
    database = settings.database
    spark.sql(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    for table, columns in ASSESSMENT_TABLES.items():
        ensure_iceberg_table(spark, database, table, columns, settings.table_uri(table), say=say)


class Partitions:
    """Where the metastore says each partition of the lake's tables is."""

    def __init__(self, spark: SparkSession, settings: LakeSettings) -> None:
        self.spark = spark
        self.settings = settings

    def _name(self, table: str) -> str:
        return f"`{self.settings.database}`.`{table}`"

    def location(self, table: str, date: str) -> str | None:
        try:
            rows = self.spark.sql(
                f"DESCRIBE FORMATTED {self._name(table)} PARTITION ({PARTITION_COLUMN}='{date}')"
            ).collect()
        except AnalysisException as error:
            if error.getCondition() == "PARTITIONS_NOT_FOUND":
                return None
            raise
        return next(str(row["data_type"]) for row in rows if row["col_name"] == "Location")

    def dates(self, table: str) -> list[str]:
        rows = self.spark.sql(f"SHOW PARTITIONS {self._name(table)}").collect()
        return sorted(row[0].removeprefix(PARTITION_PREFIX) for row in rows)

    def add(self, table: str, date: str, location: str) -> None:
        self.spark.sql(
            f"ALTER TABLE {self._name(table)} ADD IF NOT EXISTS "
            f"PARTITION ({PARTITION_COLUMN}='{date}') LOCATION '{location}'"
        )

    def move(self, table: str, date: str, location: str) -> None:
        self.spark.sql(
            f"ALTER TABLE {self._name(table)} PARTITION ({PARTITION_COLUMN}='{date}') "
            f"SET LOCATION '{location}'"
        )


def sync_partitions(
    spark: SparkSession, settings: LakeSettings, files: LakeFiles, say: Say = print
) -> int:
    """Register every date folder of the lake the metastore does not know; how many."""
    partitions = Partitions(spark, settings)
    added = 0
    for table in table_columns(load_catalog(settings.catalog_dir)):
        table_uri = settings.table_uri(table)
        known = set(partitions.dates(table))
        for folder in files.names(table_uri):
            date = folder.removeprefix(PARTITION_PREFIX)
            if not folder.startswith(PARTITION_PREFIX) or date in known:
                continue
            versions = [
                version_of(v) for v in files.names(f"{table_uri}/{folder}") if VERSION_DIR.match(v)
            ]
            if versions:
                partitions.add(table, date, partition_folder(table_uri, date, max(versions)))
                say(f"registered partition {table}/{folder}")
                added += 1
    return added


def main() -> None:
    settings = get_lake_settings()
    spark = SparkSession.builder.appName("questlog-tables").getOrCreate()
    ensure_tables(spark, settings)
    added = sync_partitions(spark, settings, LakeFiles(spark, settings.lake_root))
    print(f"tables in {settings.database} match the catalog; {added} partitions registered")
    spark.stop()


if __name__ == "__main__":
    main()

"""The table job: the database and one Iceberg table per catalog event type (plus the
dead-letter table and the assessment tables) in the Hive Metastore.

Idempotent: run it any number of times. A new event type gets its table; a new version
of a type that adds properties gets the new columns (older rows read null). An event table
of the older Parquet layout is replaced by an Iceberg table holding the same rows.

    spark-submit tables.py
"""

from collections.abc import Callable

from pyspark.sql import SparkSession
from pyspark.sql import types as T
from questlog_catalog import EventType, load_catalog
from questlog_settings import SparkSettings, get_spark_settings

from questlog_spark.attempts import TABLES as ASSESSMENT_TABLES
from questlog_spark.lake import LakeFiles
from questlog_spark.schemas import (
    DEAD_LETTER_COLUMNS,
    DEAD_LETTER_TABLE,
    PARTITION_COLUMN,
    event_columns,
    hive_columns,
    iceberg_columns,
)

# Every Iceberg table's: format v2, Parquet files compressed as Trino and the Hive tables did;
# more tries for a commit that loses the race to another writer's (Iceberg's default 4 ran
# out once in CI, two writers committing back to back on a busy machine); and each commit
# deletes the metadata files beyond the last 100 (else every 10 s commit leaves one more).
ICEBERG_PROPERTIES = (
    "'format-version'='2', 'write.parquet.compression-codec'='snappy', "
    "'commit.retry.num-retries'='10', 'write.metadata.delete-after-commit.enabled'='true', "
    "'write.metadata.previous-versions-max'='100'"
)
Say = Callable[[str], None]
# The snapshot property naming the table a migrated table's rows were copied from.
MIGRATED_FROM = "questlog.migrated-from"
# The name an event table of the Parquet layout has while its rows are copied.
PARQUET_SUFFIX = "__parquet"


def snapshots(database: str, table: str) -> str:
    """The table's snapshots (Iceberg's metadata table), named in full: a shorter name makes
    Iceberg try the database as a catalog first, and log that it is not one."""
    return f"spark_catalog.`{database}`.`{table}`.snapshots"


def table_columns(catalog: dict[str, EventType]) -> dict[str, T.StructType]:
    """Every event table the lake has, with its Iceberg columns (the partition column last)."""
    tables = {t.table: event_columns(t) for t in catalog.values()}
    date = T.StructField(PARTITION_COLUMN, T.DateType())
    return {
        table: T.StructType([*iceberg_columns(columns).fields, date])
        for table, columns in {**tables, DEAD_LETTER_TABLE: DEAD_LETTER_COLUMNS}.items()
    }


def create_iceberg_table_sql(
    name: str, columns: T.StructType, location: str, partitioned_by: str | None = None
) -> str:
    partitioning = f"PARTITIONED BY ({partitioned_by}) " if partitioned_by else ""
    return (
        f"CREATE TABLE IF NOT EXISTS {name} ({hive_columns(columns)}) USING iceberg "
        f"{partitioning}LOCATION '{location}' TBLPROPERTIES ({ICEBERG_PROPERTIES})"
    )


def is_iceberg(spark: SparkSession, name: str) -> bool:
    rows = spark.sql(f"DESCRIBE TABLE EXTENDED {name}").collect()
    return any(
        row["col_name"] == "Provider" and str(row["data_type"]).lower() == "iceberg" for row in rows
    )


def ensure_iceberg_table(
    spark: SparkSession,
    database: str,
    table: str,
    columns: T.StructType,
    location: str,
    say: Say = print,
    partitioned_by: str | None = None,
) -> None:
    """Create the Iceberg table at ``location`` when it is missing, else add the columns it
    lacks."""
    name = f"`{database}`.`{table}`"
    if not spark.catalog.tableExists(f"{database}.{table}"):
        spark.sql(create_iceberg_table_sql(name, columns, location, partitioned_by))
        say(f"created Iceberg table {database}.{table}")
        return
    add_missing_columns(spark, database, table, columns, say)


def drop_older_layout(
    spark: SparkSession, database: str, table: str, location: str, say: Say
) -> None:
    """Drop a table rebuilt whole from Kafka (an assessment table) if it is of the older
    layout (Parquet in version folders), with its files."""
    name = f"`{database}`.`{table}`"
    if spark.catalog.tableExists(f"{database}.{table}") and not is_iceberg(spark, name):
        spark.sql(f"DROP TABLE {name}")
        LakeFiles(spark, location).delete(location)
        say(f"dropped {database}.{table} of the older layout, to be rebuilt on Iceberg")


def set_older_layout_aside(spark: SparkSession, database: str, table: str) -> None:
    """Rename an event table of the older layout (Parquet partitions) to ``<table>__parquet``,
    so that its Iceberg successor can take the name."""
    name = f"`{database}`.`{table}`"
    if spark.catalog.tableExists(f"{database}.{table}") and not is_iceberg(spark, name):
        spark.sql(f"ALTER TABLE {name} RENAME TO `{database}`.`{table}{PARQUET_SUFFIX}`")


def migrate_older_layout(
    spark: SparkSession, database: str, table: str, location: str, say: Say
) -> None:
    """Copy the rows of the event table set aside (``set_older_layout_aside``) into its
    Iceberg successor in one commit marked ``MIGRATED_FROM``, then drop it and its files.
    A run cut short anywhere is finished by the next (the stream runs this before it starts)."""
    name, old = f"`{database}`.`{table}`", f"`{database}`.`{table}{PARQUET_SUFFIX}`"
    if not spark.catalog.tableExists(f"{database}.{table}{PARQUET_SUFFIX}"):
        return
    marked = (
        f"SELECT 1 FROM {snapshots(database, table)} WHERE summary['{MIGRATED_FROM}'] IS NOT NULL"
    )
    if not spark.sql(marked).count():
        present = set(spark.table(old).columns)
        columns = [
            f"CAST({f'`{f.name}`' if f.name in present else 'NULL'} AS "
            f"{f.dataType.simpleString()}) AS `{f.name}`"
            for f in spark.table(name).schema.fields
        ]
        rows = spark.sql(f"SELECT {', '.join(columns)} FROM {old}")
        rows.writeTo(name).option(f"snapshot-property.{MIGRATED_FROM}", old).append()
    spark.sql(f"DROP TABLE {old}")  # an external table: its files stay until deleted here
    files = LakeFiles(spark, location)
    for folder in files.names(location):
        if folder.startswith(f"{PARTITION_COLUMN}="):
            files.delete(f"{location}/{folder}")
    say(f"moved {database}.{table} onto Iceberg ({spark.table(name).count():,} rows)")


def add_missing_columns(
    spark: SparkSession, database: str, table: str, columns: T.StructType, say: Say
) -> None:
    name = f"`{database}`.`{table}`"
    existing = {column.name for column in spark.catalog.listColumns(f"{database}.{table}")}
    added = T.StructType([f for f in columns.fields if f.name not in existing])
    if added.fields:
        spark.sql(f"ALTER TABLE {name} ADD COLUMNS ({hive_columns(added)})")
        say(f"added columns {', '.join(added.fieldNames())} to {database}.{table}")


def ensure_tables(spark: SparkSession, settings: SparkSettings, say: Say = print) -> None:
    """Create what is missing: the database, each table, columns new catalog versions add.
    The assessment tables (Iceberg) are created empty until their batch job builds them (so
    queries of them answer before that)."""
    catalog = load_catalog(settings.lake.catalog_dir)
    database = settings.lake.database
    spark.sql(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    for table, columns in table_columns(catalog).items():
        location = settings.lake.table_uri(table)
        set_older_layout_aside(spark, database, table)
        ensure_iceberg_table(spark, database, table, columns, location, say, PARTITION_COLUMN)
        migrate_older_layout(spark, database, table, location, say)
    ensure_assessment_tables(spark, settings, say)


def ensure_assessment_tables(
    spark: SparkSession, settings: SparkSettings, say: Say = print
) -> None:
    database = settings.lake.database
    spark.sql(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    for table, columns in ASSESSMENT_TABLES.items():
        location = settings.lake.table_uri(table)
        drop_older_layout(spark, database, table, location, say)
        ensure_iceberg_table(spark, database, table, iceberg_columns(columns), location, say)


def main() -> None:
    settings = get_spark_settings()
    spark = SparkSession.builder.appName("questlog-tables").getOrCreate()
    ensure_tables(spark, settings)
    print(f"tables in {settings.lake.database} match the catalog")
    spark.stop()


if __name__ == "__main__":
    main()

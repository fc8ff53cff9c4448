"""The lake's plumbing: Parquet written by Spark, registered in the Hive Metastore, read by
Trino."""

from datetime import date
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from questlog.settings import Settings
from questlog.stack.probes import metastore_databases
from tests.helpers import unique


def test_spark_table_is_counted_by_trino(stack: Settings, spark: SparkSession, trino: Any) -> None:
    table = unique("purchases")
    frame = spark.range(3000).select(
        F.col("id").alias("purchase_id"),
        (F.col("id") % 50).cast("int").alias("sword_cost"),
        F.date_add(F.lit(date(2026, 11, 1)), (F.col("id") % 3).cast("int")).alias("event_date"),
    )
    frame.write.format("parquet").partitionBy("event_date").saveAsTable(f"default.{table}")

    expected = {
        row["event_date"]: (row["n"], row["cost"])
        for row in frame.groupBy("event_date")
        .agg(F.count("*").alias("n"), F.sum("sword_cost").alias("cost"))
        .collect()
    }
    rows = trino(
        f"SELECT event_date, count(*), sum(sword_cost) FROM hive.default.{table} GROUP BY 1"
    )
    assert {d: (n, cost) for d, n, cost in rows} == expected
    assert sum(n for n, _ in expected.values()) == 3000

    files = list((stack.lake.dir / table).glob("event_date=*/*.parquet"))
    assert files and all(f.name.endswith(".snappy.parquet") for f in files)
    (location,) = trino(f'SELECT DISTINCT "$path" FROM hive.default.{table} LIMIT 1')
    assert str(location[0]).startswith(f"file:{stack.lake.dir}/{table}/event_date=")


def test_schema_created_through_trino_is_in_the_metastore(stack: Settings, trino: Any) -> None:
    schema = unique("analytics")
    trino(f"CREATE SCHEMA hive.{schema}")
    assert schema in metastore_databases(stack.host, stack.metastore.port)
    trino(f"CREATE TABLE hive.{schema}.guilds AS SELECT * FROM (VALUES ('Knights', 3)) t(guild, n)")
    assert trino(f"SELECT guild, n FROM hive.{schema}.guilds") == [["Knights", 3]]

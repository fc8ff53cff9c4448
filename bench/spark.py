"""The benchmarks' Spark session: local, with the stack's conf, quiet."""

from pyspark.sql import SparkSession

from questlog.settings import Settings
from questlog.stack.spark import spark_conf


def session(settings: Settings, name: str) -> SparkSession:
    builder = SparkSession.builder.master("local[2]").appName(name)
    for key, value in {**spark_conf(settings), "spark.ui.showConsoleProgress": "false"}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def drop_tables(spark: SparkSession, database: str) -> None:
    """Drop a database's tables (the metastore's DROP DATABASE ... CASCADE fails here once
    the database is gone: it retries the call after its transaction cleanup fails)."""
    if spark.catalog.databaseExists(database):
        for table in spark.catalog.listTables(database):
            spark.sql(f"DROP TABLE `{database}`.`{table.name}`")

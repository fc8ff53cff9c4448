"""The benchmarks' Spark session: local, with the stack's conf, quiet."""

from pyspark.sql import SparkSession

from questlog.settings import StackSettings
from questlog.stack.spark import spark_conf


def session(settings: StackSettings, name: str) -> SparkSession:
    builder = SparkSession.builder.master("local[2]").appName(name)
    for key, value in {**spark_conf(settings), "spark.ui.showConsoleProgress": "false"}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark

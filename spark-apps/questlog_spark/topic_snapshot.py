"""Batch job: land every record of a Kafka topic in a raw Parquet table.

One row per Kafka record (topic, partition, offset, key, value as text, the value's
``event_type``, the record's timestamp), partitioned by the record's UTC date and registered
in the Hive Metastore, so Trino can query what is in the topic. The table is rewritten on
each run.

    spark-submit topic_snapshot.py --bootstrap HOST:PORT --topic events --table default.events_raw
"""

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F


def raw_records(kafka_records: DataFrame) -> DataFrame:
    """Kafka source rows -> raw table rows."""
    value = F.col("value").cast("string")
    return kafka_records.select(
        "topic",
        "partition",
        "offset",
        F.col("key").cast("string").alias("key"),
        value.alias("value"),
        F.get_json_object(value, "$.event_type").alias("event_type"),
        F.col("timestamp").alias("kafka_timestamp"),
        F.to_date("timestamp").alias("event_date"),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    parser.add_argument("--topic", required=True)
    parser.add_argument("--table", required=True, help="database.table in the metastore")
    args = parser.parse_args(argv)

    spark = SparkSession.builder.appName("questlog-topic-snapshot").getOrCreate()
    records = (
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", args.bootstrap)
        .option("subscribe", args.topic)
        .option("startingOffsets", "earliest")
        .load()
    )
    (
        raw_records(records)
        .write.mode("overwrite")
        .format("parquet")
        .partitionBy("event_date")
        .saveAsTable(args.table)
    )
    spark.stop()


if __name__ == "__main__":
    main()

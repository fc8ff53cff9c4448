"""The assessments batch job: the whole Kafka topic ``assessments`` -> the tables
``assessments`` (one row per attempt) and ``assessment_questions`` (one row per question
of an attempt), rebuilt on each run.

An attempt re-sent to Kafka is kept once (the last record of its ``user_exam_id``), so a
run gives the same rows however often a file was loaded. Both tables are Iceberg tables,
each replaced by one overwrite commit: a query reads the rows before or after it, each
whole, and the earlier snapshots stay readable by time travel until they expire.

    spark-submit assessments.py
"""

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from questlog_settings import SparkSettings, get_spark_settings

from questlog_spark.attempts import (
    ASSESSMENTS,
    KEY,
    QUESTIONS,
    TABLES,
    assessment_rows,
    latest_attempts,
    parse_attempts,
    question_rows,
)
from questlog_spark.schemas import iceberg_columns
from questlog_spark.tables import ensure_assessment_tables, snapshots


def read_topic(spark: SparkSession, settings: SparkSettings) -> DataFrame:
    """Every record the topic holds now."""
    return (
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka.bootstrap)
        .option("subscribe", settings.kafka.assessments_topic)
        .option("startingOffsets", "earliest")
        .option("endingOffsets", "latest")
        .load()
    )


def replace(spark: SparkSession, settings: SparkSettings, table: str, rows: DataFrame) -> None:
    """Make ``rows`` the (Iceberg) table's rows, in one commit."""
    columns = iceberg_columns(TABLES[table])
    typed = rows.select([F.col(f.name).cast(f.dataType) for f in columns.fields])
    typed.writeTo(f"`{settings.lake.database}`.`{table}`").overwrite(F.lit(True))


def summary(settings: SparkSettings, parsed: DataFrame, attempts: DataFrame) -> list[str]:
    """What the run read, dropped and wrote (the rows counted in the snapshot it made)."""
    spark = parsed.sparkSession
    records, attempt_records = parsed.agg(F.count("*"), F.count(KEY)).first() or (0, 0)
    unique = attempts.count()
    lines = [
        f"read {records:,} records from the Kafka topic {settings.kafka.assessments_topic}: "
        f"{unique:,} attempts, {attempt_records - unique:,} repeated records of an attempt "
        f"dropped, {records - attempt_records:,} records that are not attempts skipped"
    ]
    for table in TABLES:
        name = f"`{settings.lake.database}`.`{table}`"
        ((snapshot,),) = spark.sql(
            f"SELECT snapshot_id FROM {snapshots(settings.lake.database, table)} "
            "ORDER BY committed_at DESC LIMIT 1"
        ).collect()
        ((rows,),) = spark.sql(f"SELECT count(*) FROM {name} VERSION AS OF {snapshot}").collect()
        lines.append(f"{settings.lake.database}.{table}: {rows:,} rows in snapshot {snapshot}")
    return lines


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    settings = get_spark_settings()
    spark = SparkSession.builder.appName("questlog-assessments").getOrCreate()
    parsed = parse_attempts(read_topic(spark, settings)).persist()
    attempts = latest_attempts(parsed).persist()
    ensure_assessment_tables(spark, settings)
    replace(spark, settings, ASSESSMENTS, assessment_rows(attempts))
    replace(spark, settings, QUESTIONS, question_rows(attempts))
    for line in summary(settings, parsed, attempts):
        print(line)
    spark.stop()


if __name__ == "__main__":
    main()

"""The assessments batch job: the whole Kafka topic ``assessments`` -> the tables
``assessments`` (one row per attempt) and ``assessment_questions`` (one row per question
of an attempt), rebuilt on each run.

An attempt re-sent to Kafka is kept once (the last record of its ``user_exam_id``), so a
run gives the same rows however often a file was loaded. Each run writes new versions of
both tables and switches the metastore to them (see ``table_versions``); versions replaced
more than ``--grace-minutes`` ago are deleted.

    spark-submit assessments.py [--grace-minutes M]
"""

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

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
from questlog_spark.settings import LakeSettings, get_lake_settings
from questlog_spark.table_versions import TableVersions


def read_topic(spark: SparkSession, settings: LakeSettings) -> DataFrame:
    """Every record the topic holds now."""
    return (
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
        .option("subscribe", settings.assessments_topic)
        .option("startingOffsets", "earliest")
        .option("endingOffsets", "latest")
        .load()
    )


def summary(
    settings: LakeSettings, parsed: DataFrame, attempts: DataFrame, published: dict[str, str]
) -> list[str]:
    """What the run read, dropped and wrote (the rows counted where readers find them)."""
    spark = parsed.sparkSession
    records, attempt_records = parsed.agg(F.count("*"), F.count(KEY)).first() or (0, 0)
    unique = attempts.count()
    lines = [
        f"read {records:,} records from the Kafka topic {settings.assessments_topic}: "
        f"{unique:,} attempts, {attempt_records - unique:,} repeated records of an attempt "
        f"dropped, {records - attempt_records:,} records that are not attempts skipped"
    ]
    for table, location in published.items():
        rows = spark.read.parquet(location).count()
        lines.append(f"{settings.database}.{table}: {rows:,} rows in {location}")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--grace-minutes",
        type=float,
        default=30,
        help="keep replaced versions this long, for queries still reading them",
    )
    args = parser.parse_args(argv)
    settings = get_lake_settings()
    spark = SparkSession.builder.appName("questlog-assessments").getOrCreate()
    parsed = parse_attempts(read_topic(spark, settings)).persist()
    attempts = latest_attempts(parsed).persist()
    rows = {ASSESSMENTS: assessment_rows(attempts), QUESTIONS: question_rows(attempts)}
    tables = TableVersions(spark, settings)
    staged = {table: tables.stage(table, frame) for table, frame in rows.items()}
    published = tables.publish(staged, TABLES)
    deleted = sum(tables.vacuum(table, args.grace_minutes * 60) for table in TABLES)
    for line in summary(settings, parsed, attempts, published):
        print(line)
    print(f"deleted {deleted} versions replaced more than {args.grace_minutes:g} minutes ago")
    spark.stop()


if __name__ == "__main__":
    main()

"""Kafka records of assessment attempts into the rows of their two tables (local Spark, no
stack)."""

import json
from datetime import datetime
from typing import Any

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import types as T
from pyspark.testing import assertDataFrameEqual
from questlog_spark.attempts import (
    ASSESSMENT_COLUMNS,
    ATTEMPT,
    QUESTION_COLUMNS,
    assessment_rows,
    latest_attempts,
    parse_attempts,
    question_rows,
)

from questlog.publish import LOADABLE

RECEIVED = datetime(2018, 1, 28, 12, 0)


def option(id: str, checked: bool, correct: bool) -> dict[str, Any]:
    moment = {"at": "2018-01-23T14:23:24.670Z", "submitted": 1} if checked else {}
    return {"id": id, "checked": checked, "correct": correct, **moment}


ATTEMPT_RECORD: dict[str, Any] = {
    "keen_id": "5a6745820eb8ab00016be1f1",
    "keen_timestamp": "1516717442.735266",
    "keen_created_at": "1516717442.735266",
    "base_exam_id": "37f0a30a-7464-11e6-aa92-a8667f27e5dc",
    "exam_name": "Learning Git",
    "user_exam_id": "6d4089e4-bde5-4a22-b65f-18bce9ab79c8",
    "user_id": "u-7",
    "started_at": "2018-01-23T14:23:19.082Z",
    "certification": "false",
    "max_attempts": "1.0",
    "sequences": {
        "id": "5b28a462-7a3b-42e0-b508-09f3906d1703",
        "attempt": 1,
        "questions": [
            {
                "id": "q-1",
                "user_incomplete": True,
                "user_correct": False,
                "user_submitted": True,
                "user_result": "missed_some",
                "submitted": 1,
                "options": [option("o-1", True, True), option("o-2", False, True)],
            },
            {
                "id": "q-2",
                "user_incomplete": False,
                "user_correct": True,
                "user_submitted": True,
                "user_result": "correct",
                "submitted": 1,
                "options": [option("o-3", False, False), option("o-4", True, True)],
            },
            {
                "id": "q-3",
                "user_incomplete": False,
                "user_correct": False,
                "user_submitted": False,
                "user_result": "unanswered",
                "submitted": 0,
                "options": [option("o-5", False, True), option("o-6", False, False)],
            },
        ],
        "counts": {
            "total": 3,
            "correct": 1,
            "incorrect": 0,
            "unanswered": 1,
            "incomplete": 1,
            "submitted": 2,
            "all_correct": False,
        },
    },
}


def kafka_records(spark: SparkSession, values: list[str]) -> DataFrame:
    rows = [("assessments", 0, i, RECEIVED, v.encode()) for i, v in enumerate(values)]
    schema = "topic string, partition int, offset long, timestamp timestamp, value binary"
    return spark.createDataFrame(rows, schema)


def attempts(spark: SparkSession, *records: dict[str, Any] | str) -> DataFrame:
    values = [r if isinstance(r, str) else json.dumps(r) for r in records]
    return latest_attempts(parse_attempts(kafka_records(spark, values)))


def test_an_attempt_is_one_typed_row(spark: SparkSession) -> None:
    expected = Row(
        keen_id="5a6745820eb8ab00016be1f1",
        keen_timestamp=datetime(2018, 1, 23, 14, 24, 2, 735266),
        keen_created_at=datetime(2018, 1, 23, 14, 24, 2, 735266),
        base_exam_id="37f0a30a-7464-11e6-aa92-a8667f27e5dc",
        exam_name="Learning Git",
        user_exam_id="6d4089e4-bde5-4a22-b65f-18bce9ab79c8",
        user_id="u-7",
        started_at=datetime(2018, 1, 23, 14, 23, 19, 82000),
        certification=False,
        max_attempts=1,
        sequence_id="5b28a462-7a3b-42e0-b508-09f3906d1703",
        attempt=1,
        questions=3,
        correct=1,
        incorrect=0,
        unanswered=1,
        incomplete=1,
        submitted=2,
        all_correct=False,
        score=33.3,
    )
    assertDataFrameEqual(assessment_rows(attempts(spark, ATTEMPT_RECORD)), [expected])


def test_each_question_is_a_row_with_its_options_counted(spark: SparkSession) -> None:
    def question(position: int, result: str, flags: str, checked: int, right: int) -> Row:
        """flags: user_correct, user_incomplete, user_submitted as 0/1 characters."""
        correct, incomplete, submitted = (flag == "1" for flag in flags)
        return Row(
            user_exam_id="6d4089e4-bde5-4a22-b65f-18bce9ab79c8",
            exam_name="Learning Git",
            sequence_id="5b28a462-7a3b-42e0-b508-09f3906d1703",
            question_position=position,
            question_id=f"q-{position}",
            user_result=result,
            user_correct=correct,
            user_incomplete=incomplete,
            user_submitted=submitted,
            submitted=checked,
            options=2,
            options_checked=checked,
            options_correct=right,
        )

    assertDataFrameEqual(
        question_rows(attempts(spark, ATTEMPT_RECORD)),
        [
            question(1, "missed_some", "011", checked=1, right=2),
            question(2, "correct", "101", checked=1, right=1),
            question(3, "unanswered", "000", checked=0, right=1),
        ],
    )


def test_a_resent_attempt_is_kept_once_the_last_received(spark: SparkSession) -> None:
    corrected = {**ATTEMPT_RECORD, "user_id": "u-8"}
    other = {**ATTEMPT_RECORD, "user_exam_id": "another"}
    found = attempts(spark, ATTEMPT_RECORD, "not json", "[1, 2]", other, corrected, "{}")
    assertDataFrameEqual(
        found.select("user_exam_id", "user_id"),
        [
            Row(user_exam_id=ATTEMPT_RECORD["user_exam_id"], user_id="u-8"),
            Row(user_exam_id="another", user_id="u-7"),
        ],
    )


def test_the_rows_have_the_tables_columns(spark: SparkSession) -> None:
    def columns(schema: T.StructType) -> list[tuple[str, T.DataType]]:
        return [(f.name, f.dataType) for f in schema.fields]

    found = attempts(spark, ATTEMPT_RECORD)
    assert columns(assessment_rows(found).schema) == columns(ASSESSMENT_COLUMNS)
    assert columns(question_rows(found).schema) == columns(QUESTION_COLUMNS)


def test_the_spark_schema_reads_the_fields_the_json_schema_names() -> None:
    """``ATTEMPT`` is written out for ``from_json``; it must not drift from the schema the
    loader checks records against."""
    schema = LOADABLE["assessments"].schema

    def same_fields(spark_type: T.DataType, node: dict[str, Any]) -> None:
        while "$ref" in node:
            node = schema["$defs"][node["$ref"].removeprefix("#/$defs/")]
        if isinstance(spark_type, T.ArrayType):
            same_fields(spark_type.elementType, node["items"])
        elif isinstance(spark_type, T.StructType):
            assert set(spark_type.fieldNames()) == set(node["properties"]), spark_type
            for field in spark_type.fields:
                same_fields(field.dataType, node["properties"][field.name])

    same_fields(ATTEMPT, schema)

"""Kafka records of assessment attempts -> rows of the tables ``assessments`` (one per
attempt) and ``assessment_questions`` (one per question of an attempt).

Native Spark expressions only, no per-row Python: one ``from_json`` with the attempt's nested
schema, a window keeping the last record of each attempt, and higher-order functions over
a question's options. The record's shape is ``questlog/assessments/attempt.schema.json``.
"""

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from questlog_spark.schemas import BOOLEAN, DOUBLE, INTEGER, LONG, STRING, TIMESTAMP, struct

ASSESSMENTS, QUESTIONS = "assessments", "assessment_questions"
KEY = "user_exam_id"


# An attempt as Kafka holds it (JSON).
OPTION = struct(id=STRING, checked=BOOLEAN, correct=BOOLEAN, at=STRING, submitted=LONG)
QUESTION = struct(
    id=STRING,
    user_incomplete=BOOLEAN,
    user_correct=BOOLEAN,
    user_submitted=BOOLEAN,
    user_result=STRING,
    submitted=LONG,
    options=T.ArrayType(OPTION),
)
COUNTED = ("total", "correct", "incorrect", "unanswered", "incomplete", "submitted")
COUNTS = struct(**dict.fromkeys(COUNTED, LONG), all_correct=BOOLEAN)
# The attempt's own fields are all text, whatever they hold.
ATTEMPT_FIELDS = (
    "keen_id",
    "keen_timestamp",
    "keen_created_at",
    "base_exam_id",
    "exam_name",
    "user_exam_id",
    "user_id",
    "started_at",
    "certification",
    "max_attempts",
)
ATTEMPT = struct(
    **dict.fromkeys(ATTEMPT_FIELDS, STRING),
    sequences=struct(id=STRING, attempt=LONG, questions=T.ArrayType(QUESTION), counts=COUNTS),
)

# The tables' columns.
# The attempt's fields that are not text in its table.
TYPED_FIELDS = {
    "keen_timestamp": TIMESTAMP,
    "keen_created_at": TIMESTAMP,
    "started_at": TIMESTAMP,
    "certification": BOOLEAN,
    "max_attempts": INTEGER,
}
ASSESSMENT_COLUMNS = struct(
    **{name: TYPED_FIELDS.get(name, STRING) for name in ATTEMPT_FIELDS},
    sequence_id=STRING,
    attempt=INTEGER,
    # The attempt's counts, its total as the number of questions.
    questions=INTEGER,
    **dict.fromkeys(COUNTED[1:], INTEGER),
    all_correct=BOOLEAN,
    score=DOUBLE,  # percent of the questions answered right, one decimal
)
QUESTION_COLUMNS = struct(
    user_exam_id=STRING,
    exam_name=STRING,
    sequence_id=STRING,
    question_position=INTEGER,  # 1 for an attempt's first question
    question_id=STRING,
    user_result=STRING,
    user_correct=BOOLEAN,
    user_incomplete=BOOLEAN,
    user_submitted=BOOLEAN,
    submitted=INTEGER,
    options=INTEGER,
    options_checked=INTEGER,
    options_correct=INTEGER,
)
TABLES = {ASSESSMENTS: ASSESSMENT_COLUMNS, QUESTIONS: QUESTION_COLUMNS}


def _table_rows(rows: DataFrame, columns: T.StructType, sources: dict[str, Column]) -> DataFrame:
    """The table's columns, in its order and types: each from ``sources``, or else the
    column of ``rows`` with its name."""
    return rows.select(
        *(sources.get(f.name, F.col(f.name)).cast(f.dataType).alias(f.name) for f in columns.fields)
    )


def parse_attempts(records: DataFrame) -> DataFrame:
    """Kafka records -> their position and the attempt's fields (null when the value is not
    an attempt)."""
    attempt = F.from_json(F.col("value").cast("string"), ATTEMPT).alias("attempt")
    return records.select("partition", "offset", "timestamp", attempt).select(
        "partition", "offset", "timestamp", "attempt.*"
    )


def latest_attempts(parsed: DataFrame) -> DataFrame:
    """One row per attempt: of the records repeating its ``user_exam_id`` (a re-sent
    attempt), the last Kafka received. Records that are not attempts are left out."""
    last_first = Window.partitionBy(KEY).orderBy(
        F.desc("timestamp"), F.desc("partition"), F.desc("offset")
    )
    return (
        parsed.where(F.col(KEY).isNotNull())
        .withColumn("_rank", F.row_number().over(last_first))
        .where(F.col("_rank") == 1)
        .drop("_rank", "partition", "offset", "timestamp")
    )


def _epoch_seconds(text: Column) -> Column:
    """A timestamp from seconds since the epoch written as text ("1516717442.735266")."""
    return F.timestamp_seconds(text.try_cast(T.DecimalType(20, 6)))


def assessment_rows(attempts: DataFrame) -> DataFrame:
    counts = F.col("sequences.counts")
    sources = {
        "keen_timestamp": _epoch_seconds(F.col("keen_timestamp")),
        "keen_created_at": _epoch_seconds(F.col("keen_created_at")),
        "started_at": F.col("started_at").try_cast(TIMESTAMP),
        "certification": F.col("certification").try_cast(BOOLEAN),
        "max_attempts": F.col("max_attempts").try_cast(DOUBLE),
        "sequence_id": F.col("sequences.id"),
        "attempt": F.col("sequences.attempt"),
        "questions": counts["total"],
        **{name: counts[name] for name in COUNTS.fieldNames() if name != "total"},
        "score": F.round(F.try_divide(100 * counts["correct"], counts["total"]), 1),
    }
    return _table_rows(attempts, ASSESSMENT_COLUMNS, sources)


def question_rows(attempts: DataFrame) -> DataFrame:
    exploded = attempts.select(
        KEY,
        "exam_name",
        F.col("sequences.id").alias("sequence_id"),
        F.posexplode("sequences.questions").alias("position", "question"),
    )
    question = F.col("question")
    options = question["options"]
    sources = {
        "question_position": F.col("position") + 1,
        "question_id": question["id"],
        **{name: question[name] for name in QUESTION.fieldNames() if name not in ("id", "options")},
        "options": F.size(options),
        "options_checked": F.size(F.filter(options, lambda option: option["checked"])),
        "options_correct": F.size(F.filter(options, lambda option: option["correct"])),
    }
    return _table_rows(exploded, QUESTION_COLUMNS, sources)

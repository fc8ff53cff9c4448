"""Kafka records -> typed rows of each event type's table, or dead letters with a reason.

Everything here is native Spark expressions, no per-row Python: one ``from_json`` reads
every field of a record as text, and each type's columns are cast from that text with the
types its catalog schema gives. A record is a dead letter when it is not a JSON object, names
no or an unknown event type, lacks a required field, or has a value that does not convert
to its column's type: nothing is dropped or silently nulled.
"""

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from questlog_catalog import EventType

from questlog_spark.schemas import (
    DEAD_LETTER_COLUMNS,
    DEAD_LETTER_TABLE,
    PARTITION_COLUMN,
    event_columns,
    required_columns,
)

# Columns the parsed frame adds to each Kafka record.
RAW, TABLE, REASON, LATE = "_raw", "_table", "_reason", "_late"
# Working columns, each computed once per record (a column of its own, so the optimizer
# keeps it so rather than repeating it in every expression that uses it).
PROBLEMS, OCCURRED_AT = "_problems", "_occurred_at"


def with_dedup_key(records: DataFrame) -> DataFrame:
    """The value as text and the key duplicates share: the event's id, or for a record
    without one its Kafka position (so it is never taken for a duplicate)."""
    value = F.col("value").cast("string")
    position = F.concat_ws(":", "topic", "partition", "offset")
    return records.select(
        "topic",
        "partition",
        "offset",
        "timestamp",
        value.alias("value"),
        F.coalesce(F.get_json_object(value, "$.event_id"), position).alias("dedup_key"),
    )


def deduplicated(records: DataFrame, window: str) -> DataFrame:
    """Drop records whose ``dedup_key`` was seen within ``window`` (of Kafka time)."""
    return records.withWatermark("timestamp", window).dropDuplicatesWithinWatermark(["dedup_key"])


def _text_schema(catalog: dict[str, EventType]) -> T.StructType:
    """Every column of the given types, as JSON text: one parse with this reads all a
    record's fields; typed values are cast from the text."""
    names = {f.name: None for t in catalog.values() for f in event_columns(t).fields}
    return T.StructType([T.StructField(name, T.StringType()) for name in names])


def _typed(field: T.StructField) -> Column:
    """The column's value cast from its text; null when the text does not convert."""
    text = F.col(RAW)[field.name]
    return text if isinstance(field.dataType, T.StringType) else text.try_cast(field.dataType)


def _problems(catalog: dict[str, EventType]) -> Column:
    """'; '-joined problems of a record, or '' when it has none.

    One check per distinct column (not per event type), each naming the event types it
    applies to, so the expression stays small enough for Spark to compile."""
    converts: dict[T.StructField, list[str]] = {}
    required: dict[str, list[str]] = {}
    for t in catalog.values():
        for field in event_columns(t).fields:
            converts.setdefault(field, []).append(t.name)
        for name in required_columns(t):
            required.setdefault(name, []).append(t.name)
    event_type = F.col(RAW)["event_type"]
    problems = [
        F.when(
            event_type.isin(types) & F.col(RAW)[field.name].isNotNull() & _typed(field).isNull(),
            F.concat(
                F.lit(f"{field.name}: expected {field.dataType.simpleString()}, got "),
                F.substring(F.col(RAW)[field.name], 1, 100),
            ),
        )
        for field, types in converts.items()
        if not isinstance(field.dataType, T.StringType)  # any JSON value is text
    ]
    problems += [
        F.when(event_type.isin(types) & F.col(RAW)[name].isNull(), F.lit(f"{name}: missing"))
        for name, types in required.items()
    ]
    return F.concat_ws("; ", *problems)


class EventParser:
    """The parse of one catalog's events. Its expressions are built once: that is some
    thousands of calls into the JVM (about a second on two busy cores), which a micro-batch
    paid each time before."""

    def __init__(self, catalog: dict[str, EventType], allowed_lateness: str) -> None:
        value, event_type = F.col("value"), F.col(RAW)["event_type"]
        tables = F.create_map(*(F.lit(x) for t in catalog.values() for x in (t.name, t.table)))
        problems = F.col(PROBLEMS)
        reason = (
            F.when(F.json_object_keys(value).isNull(), F.lit("value is not a JSON object"))
            .when(event_type.isNull(), F.lit("event_type: missing"))
            .when(
                tables[event_type].isNull(),
                F.concat(F.lit("event_type: unknown event type "), F.substring(event_type, 1, 100)),
            )
            .when(problems != "", problems)
        )
        occurred_at = F.col(OCCURRED_AT)
        received_at = F.col(RAW)["received_at"].try_cast(T.TimestampType())
        late = occurred_at < received_at - F.expr(f"INTERVAL {allowed_lateness}")
        valid = F.col(REASON).isNull()
        # Each column may use those before it.
        self._columns = [
            (RAW, F.from_json(value, _text_schema(catalog))),
            (PROBLEMS, _problems(catalog)),
            (OCCURRED_AT, F.col(RAW)["occurred_at"].try_cast(T.TimestampType())),
            (REASON, reason),
            (TABLE, F.when(valid, tables[event_type]).otherwise(DEAD_LETTER_TABLE)),
            (LATE, valid & F.coalesce(late, F.lit(False))),
            (
                PARTITION_COLUMN,
                F.when(valid, F.to_date(occurred_at)).otherwise(F.to_date("timestamp")),
            ),
        ]
        self._tables = {
            t.table: (
                F.from_json("value", _text_schema({t.name: t})),
                [_typed(f).alias(f.name) for f in event_columns(t).fields],
            )
            for t in catalog.values()
        }

    def parse(self, records: DataFrame) -> DataFrame:
        """Each record with its target table (or the dead-letter table), the reason it is a
        dead letter, whether it is late, and its ``event_date``."""
        for name, column in self._columns:
            records = records.withColumn(name, column)
        # Narrow again: a batch shuffles and keeps this frame, and the typed values are
        # cheaper to parse again, per table, than to carry.
        return records.drop(RAW, PROBLEMS, OCCURRED_AT)

    def table_rows(self, parsed: DataFrame, table: str) -> DataFrame:
        """The rows of an event table, with its columns in table order."""
        texts, columns = self._tables[table]
        rows = parsed.where(F.col(TABLE) == table).withColumn(RAW, texts)
        return rows.select(*columns, PARTITION_COLUMN)


def dead_letter_rows(parsed: DataFrame) -> DataFrame:
    """The dead letters: where each record was in Kafka, its raw value and the reason."""
    sources = {
        "kafka_timestamp": F.col("timestamp"),
        "event_type": F.get_json_object("value", "$.event_type"),
        "event_id": F.get_json_object("value", "$.event_id"),
        "reason": F.col(REASON),
    }
    columns = [
        sources.get(name, F.col(name)).alias(name) for name in DEAD_LETTER_COLUMNS.fieldNames()
    ]
    return parsed.where(F.col(TABLE) == DEAD_LETTER_TABLE).select(*columns, PARTITION_COLUMN)

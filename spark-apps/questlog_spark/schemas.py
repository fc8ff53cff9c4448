"""Spark and Hive types of the lake's tables, derived from the event catalog.

Every table carries the envelope's columns, its event type's properties in catalog order,
and the partition column ``event_date`` (UTC date of ``occurred_at``).
"""

from typing import Any

from pyspark.sql import types as T
from questlog_catalog import EventType

ENVELOPE_COLUMNS = T.StructType(
    [
        T.StructField("event_id", T.StringType()),
        T.StructField("event_type", T.StringType()),
        T.StructField("event_version", T.IntegerType()),
        T.StructField("occurred_at", T.TimestampType()),
        T.StructField("received_at", T.TimestampType()),
        T.StructField("user_id", T.StringType()),
        T.StructField("host", T.StringType()),
        T.StructField("user_agent", T.StringType()),
        # The name of the write key the event was posted with (null from an open route).
        T.StructField("source", T.StringType()),
        # The client's address, truncated to its network unless configured whole.
        T.StructField("client_ip", T.StringType()),
    ]
)
# Every record the ingest API publishes has these set.
REQUIRED_ENVELOPE = ("event_id", "event_type", "occurred_at", "received_at", "user_id")
PARTITION_COLUMN = "event_date"

DEAD_LETTER_TABLE = "dead_letters"
DEAD_LETTER_COLUMNS = T.StructType(
    [
        T.StructField("topic", T.StringType()),
        T.StructField("partition", T.IntegerType()),
        T.StructField("offset", T.LongType()),
        T.StructField("kafka_timestamp", T.TimestampType()),
        T.StructField("event_type", T.StringType()),
        T.StructField("event_id", T.StringType()),
        T.StructField("reason", T.StringType()),
        T.StructField("value", T.StringType()),
    ]
)

_SCALARS: dict[str, T.DataType] = {
    "string": T.StringType(),
    "integer": T.LongType(),
    "number": T.DoubleType(),
    "boolean": T.BooleanType(),
}


def property_type(schema: dict[str, Any]) -> T.DataType:
    """The column type of one catalog property. Arrays and objects are kept as JSON text."""
    json_type = schema.get("type")
    if json_type == "string" and schema.get("format") == "date-time":
        return T.TimestampType()
    if json_type == "string" and schema.get("format") == "date":
        return T.DateType()
    if isinstance(json_type, str) and json_type in _SCALARS:
        return _SCALARS[json_type]
    return T.StringType()


def event_columns(event_type: EventType) -> T.StructType:
    """The columns of an event type's table, without the partition column."""
    kept = event_type.stored_properties.items()
    own = [T.StructField(name, property_type(p)) for name, p in kept]
    return T.StructType([*ENVELOPE_COLUMNS.fields, *own])


def required_columns(event_type: EventType) -> list[str]:
    required = event_type.schema.get("required", [])
    return [
        *REQUIRED_ENVELOPE,
        *(name for name in required if name in event_type.stored_properties),
    ]


def iceberg_columns(columns: T.StructType) -> T.StructType:
    """The columns of an Iceberg table: its times have no zone. (Spark's TimestampType is
    Iceberg's timestamptz, which Trino answers with a zone; the lake's times are UTC and read
    as they are, as from its Hive tables.)"""
    return T.StructType(
        [
            T.StructField(
                f.name,
                T.TimestampNTZType() if isinstance(f.dataType, T.TimestampType) else f.dataType,
            )
            for f in columns.fields
        ]
    )


def hive_columns(columns: T.StructType) -> str:
    """Column list for Hive DDL: ``name type, …``."""
    return ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in columns.fields)

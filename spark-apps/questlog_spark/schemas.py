"""Spark and Hive types of the lake's tables, derived from the event catalog.

Every table carries the envelope's columns, its event type's properties in catalog order,
and the partition column ``event_date`` (UTC date of ``occurred_at``).
"""

from typing import Any

from pyspark.sql import types as T
from questlog_catalog import EventType

STRING, BOOLEAN, LONG = T.StringType(), T.BooleanType(), T.LongType()
INTEGER, DOUBLE, TIMESTAMP = T.IntegerType(), T.DoubleType(), T.TimestampType()


def struct(**fields: T.DataType) -> T.StructType:
    """A struct of the fields given, in their order."""
    return T.StructType([T.StructField(name, kind) for name, kind in fields.items()])


ENVELOPE_COLUMNS = struct(
    event_id=STRING,
    event_type=STRING,
    event_version=INTEGER,
    occurred_at=TIMESTAMP,
    received_at=TIMESTAMP,
    user_id=STRING,
    host=STRING,
    user_agent=STRING,
    # The name of the write key the event was posted with (null from an open route).
    source=STRING,
    # The client's address, truncated to its network unless configured whole.
    client_ip=STRING,
)
# Every record the ingest API publishes has these set.
REQUIRED_ENVELOPE = ("event_id", "event_type", "occurred_at", "received_at", "user_id")
PARTITION_COLUMN = "event_date"

DEAD_LETTER_TABLE = "dead_letters"
DEAD_LETTER_COLUMNS = struct(
    topic=STRING,
    partition=INTEGER,
    offset=LONG,
    kafka_timestamp=TIMESTAMP,
    event_type=STRING,
    event_id=STRING,
    reason=STRING,
    value=STRING,
)

_SCALARS: dict[str, T.DataType] = {
    "string": STRING,
    "integer": LONG,
    "number": DOUBLE,
    "boolean": BOOLEAN,
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

"""The event catalog: one versioned JSON Schema file per event type, the single source of
truth for what an event of each type carries.

``events/<event_type>.v<N>.json`` describes the type's own properties; the highest version
of each type is the current one. ``x-questlog-table`` names the table its events land in.
``x-questlog-personal`` marks the fields that identify a person (``user_id`` or the type's
own string properties): ``"hash"`` keeps a keyed HMAC of the value in its place, ``"drop"``
removes it; either way before the event reaches Kafka.
The envelope every event shares (``event_type``, ``event_id``, ``occurred_at``,
``user_id``) is described once, here. Adding an event type means adding one file.
"""

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator

EVENTS_DIR = Path(__file__).parent / "events"
# The pipeline's Kafka topics: events of the catalog's types, the assessments' attempts.
EVENTS_TOPIC = "events"
ASSESSMENTS_TOPIC = "assessments"
FILE_NAME = re.compile(r"^(?P<name>[a-z][a-z0-9_]*)\.v(?P<version>[1-9][0-9]*)\.json$")

ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "event_type": {
            "type": "string",
            "pattern": "^[a-z][a-z0-9_]{0,63}$",
            "description": "The event's type, one of the catalog's.",
        },
        "event_id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128,
            "description": "Client-chosen id, the deduplication key; generated when absent.",
        },
        "occurred_at": {
            "type": "string",
            "format": "date-time",
            "maxLength": 64,
            "description": "When it happened (RFC 3339); the time it was received when absent.",
        },
        "user_id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128,
            "description": "Who did it; events are keyed and ordered by user.",
        },
    },
    "required": ["event_type", "user_id"],
}
ENVELOPE_FIELDS = frozenset(ENVELOPE_SCHEMA["properties"])
PERSONAL_TREATMENTS = ("hash", "drop")


def dead_letter_topic(topic: str) -> str:
    """Where the records refused on their way to ``topic`` go, with their reasons."""
    return f"{topic}.invalid"


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    table: str
    description: str
    schema: dict[str, Any]  # the catalog file: the type's own properties

    @property
    def properties(self) -> dict[str, Any]:
        props: dict[str, Any] = self.schema["properties"]
        return props

    @property
    def personal(self) -> dict[str, str]:
        """The fields that identify a person, and what is done with them: hash or drop."""
        marked: dict[str, str] = self.schema.get("x-questlog-personal", {})
        return marked

    @property
    def stored_properties(self) -> dict[str, Any]:
        """The properties its records and table keep: all but those dropped as personal."""
        return {n: p for n, p in self.properties.items() if self.personal.get(n) != "drop"}

    @cached_property
    def validator(self) -> Draft202012Validator:
        """Checks an event and says precisely what is wrong with it (slow)."""
        return Draft202012Validator(self.event_schema)

    @cached_property
    def is_valid(self) -> Callable[[Any], bool]:
        """Checks an event, compiled to plain Python (fast). Formats are left to the caller,
        as ``validator`` leaves them, so that both always agree."""
        check = fastjsonschema.compile(self.event_schema, use_formats=False)

        def is_valid(event: Any) -> bool:
            try:
                check(event)
                return True
            except fastjsonschema.JsonSchemaException:
                return False

        return is_valid

    @property
    def event_schema(self) -> dict[str, Any]:
        """A whole event of this type: the envelope and the type's properties, nothing else."""
        envelope = ENVELOPE_SCHEMA["properties"]
        return {
            "title": self.name,
            "description": self.description,
            "type": "object",
            "properties": {
                **envelope,
                "event_type": {**envelope["event_type"], "const": self.name},
                **self.properties,
            },
            "required": [*ENVELOPE_SCHEMA["required"], *self.schema.get("required", [])],
            "additionalProperties": False,
        }


class CatalogError(ValueError):
    """A catalog file is not a valid event type definition."""


def read_event_type(path: Path) -> EventType:
    match = FILE_NAME.match(path.name)
    if match is None:
        raise CatalogError(f"{path.name}: catalog files are named <event_type>.v<N>.json")
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    name, version = match["name"], int(match["version"])
    if schema.get("title") != name or schema.get("x-questlog-version") != version:
        raise CatalogError(f"{path.name}: title and x-questlog-version must match the file name")
    if set(schema.get("properties", {})) & ENVELOPE_FIELDS:
        raise CatalogError(f"{path.name}: properties may not reuse the envelope's field names")
    table = schema.get("x-questlog-table", "")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", table):
        raise CatalogError(f"{path.name}: x-questlog-table must name a table")
    event_type = EventType(name, version, table, schema.get("description", ""), schema)
    check_personal(path.name, event_type)
    return event_type


def check_personal(file_name: str, event_type: EventType) -> None:
    for field, treatment in event_type.personal.items():
        where = f"{file_name}: x-questlog-personal: {field}"
        if treatment not in PERSONAL_TREATMENTS:
            raise CatalogError(f"{where}: {treatment!r} is neither 'hash' nor 'drop'")
        if field == "user_id":
            if treatment != "hash":
                raise CatalogError(f"{where}: user_id keys the event, so it can only be hashed")
        elif field not in event_type.properties:
            raise CatalogError(f"{where}: neither user_id nor one of the type's properties")
        elif treatment == "hash" and event_type.properties[field].get("type") != "string":
            raise CatalogError(f"{where}: only strings can be hashed (their token is one)")


def personal_token(key: bytes, value: str) -> str:
    """What a field marked "hash" keeps: the HMAC-SHA256 of its value, in hex."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def personal_anywhere(catalog: dict[str, EventType]) -> dict[str, str]:
    """Every field some type marks personal, for events of no known type: dropped where
    any type drops it, else hashed."""
    found: dict[str, str] = {}
    for event_type in catalog.values():
        for field, treatment in event_type.personal.items():
            if found.get(field) != "drop":
                found[field] = treatment
    return found


@cache
def load_catalog(folder: Path = EVENTS_DIR) -> dict[str, EventType]:
    """The current (highest) version of every event type, by name."""
    current: dict[str, EventType] = {}
    for path in sorted(folder.glob("*.json")):
        event_type = read_event_type(path)
        if event_type.name not in current or current[event_type.name].version < event_type.version:
            current[event_type.name] = event_type
    tables = [t.table for t in current.values()]
    if len(tables) != len(set(tables)):
        raise CatalogError("two event types name the same table")
    return dict(sorted(current.items()))

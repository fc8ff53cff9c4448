"""The event catalog: one versioned JSON Schema file per event type, the single source of
truth for what an event of each type carries.

``events/<event_type>.v<N>.json`` describes the type's own properties; the highest version
of each type is the current one. ``x-questlog-table`` names the table its events land in.
The envelope every event shares (``event_type``, ``event_id``, ``occurred_at``,
``user_id``) is described once, here. Adding an event type means adding one file.
"""

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
    return EventType(name, version, table, schema.get("description", ""), schema)


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

"""The OpenAPI description of the event envelope and of every event type, from the catalog."""

from typing import Any

from questlog_catalog import EventType


def schema_name(event_type: EventType) -> str:
    return "".join(part.capitalize() for part in event_type.name.split("_")) + "Event"


def components(catalog: dict[str, EventType], max_batch: int) -> dict[str, Any]:
    schemas: dict[str, Any] = {
        schema_name(t): {**t.event_schema, "x-questlog-table": t.table} for t in catalog.values()
    }
    schemas["Event"] = {
        "description": "One event: the envelope and the properties of its type.",
        "oneOf": [{"$ref": f"#/components/schemas/{schema_name(t)}"} for t in catalog.values()],
        "discriminator": {
            "propertyName": "event_type",
            "mapping": {t.name: f"#/components/schemas/{schema_name(t)}" for t in catalog.values()},
        },
    }
    schemas["EventBatch"] = {
        "description": f"Up to {max_batch} events, each accepted or rejected on its own.",
        "type": "object",
        "properties": {
            "events": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Event"},
                "minItems": 1,
                "maxItems": max_batch,
            }
        },
        "required": ["events"],
        "additionalProperties": False,
    }
    return schemas


def request_body() -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/Event"},
                        {"$ref": "#/components/schemas/EventBatch"},
                    ]
                }
            }
        },
    }

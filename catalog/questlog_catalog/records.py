"""Checking one incoming event against the catalog, and turning it into the record that
is published: the event as sent, completed with what the server knows of its request.

The ingest API is the pipeline's front: it finds each request's context (client_address.py
there) and passes it on, in headers, to the service behind it that emits events of its own
(the pilot registry), so that their events carry the client's context too."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from jsonschema.exceptions import best_match

from questlog_catalog import EventType


@dataclass(frozen=True)
class RequestContext:
    received_at: datetime
    host: str | None
    user_agent: str | None
    source: str | None = None  # the name of the write key the event came with
    client_ip: str | None = None  # truncated unless configured whole (client_address.py)


# The headers a context is passed on in: the standard ones, and the write key's name.
FORWARDED_HOST, FORWARDED_FOR, SOURCE = "x-forwarded-host", "x-forwarded-for", "x-questlog-source"


def forwarded(context: RequestContext) -> dict[str, str]:
    """The headers that pass ``context`` on to the service behind the API."""
    headers = {
        FORWARDED_HOST: context.host,
        "user-agent": context.user_agent,
        FORWARDED_FOR: context.client_ip,
        SOURCE: context.source,
    }
    return {name: value for name, value in headers.items() if value is not None}


def passed_on(headers: Mapping[str, str], received_at: datetime) -> RequestContext:
    """The context the API passed on in ``headers`` (``forwarded``); a request that did not
    come through it has its own host and user agent, and no client address or source."""
    return RequestContext(
        received_at=received_at,
        host=headers.get(FORWARDED_HOST, headers.get("host")),
        user_agent=headers.get("user-agent"),
        source=headers.get(SOURCE),
        client_ip=headers.get(FORWARDED_FOR),
    )


class Invalid(ValueError):
    """The event is rejected; the message is the precise reason, ``kind`` its category."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


def _reason(error_path: list[str | int], message: str) -> str:
    where = ".".join(str(part) for part in error_path)
    return f"{where}: {message}" if where else message


def build_record(
    raw: Any, catalog: dict[str, EventType], context: RequestContext
) -> dict[str, Any]:
    """The record to publish for ``raw``, or ``Invalid`` with the reason it is refused."""
    if not isinstance(raw, dict):
        raise Invalid("not_object", f"an event must be a JSON object, not {type(raw).__name__}")
    event_type = raw.get("event_type")
    if not isinstance(event_type, str):
        raise Invalid("no_event_type", "event_type: a string naming the event's type is required")
    if event_type not in catalog:
        raise Invalid(
            "unknown_event_type",
            f"event_type: unknown event type {event_type!r}; known: {', '.join(catalog)}",
        )
    definition = catalog[event_type]
    if not definition.is_valid(raw):
        error = best_match(definition.validator.iter_errors(raw))
        if error is not None:
            raise Invalid("schema", _reason(list(error.absolute_path), error.message))

    record: dict[str, Any] = {
        "event_id": raw.get("event_id") or str(uuid4()),
        "event_type": event_type,
        "event_version": definition.version,
        "occurred_at": _timestamp(raw.get("occurred_at"), context.received_at),
        "received_at": _iso(context.received_at),
        "user_id": raw["user_id"],
        "host": context.host,
        "user_agent": context.user_agent,
        "source": context.source,
        "client_ip": context.client_ip,
    }
    for name, schema in definition.properties.items():
        value = raw.get(name)
        # JSON Schema counts 5.0 as an integer; publish it as one.
        record[name] = (
            int(value) if schema.get("type") == "integer" and value is not None else value
        )
    return record


def _timestamp(value: str | None, default: datetime) -> str:
    if value is None:
        return _iso(default)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(
            "occurred_at", f"occurred_at: {value!r} is not an RFC 3339 timestamp"
        ) from None
    if parsed.tzinfo is None:
        raise Invalid("occurred_at", f"occurred_at: {value!r} has no time zone offset")
    return _iso(parsed)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

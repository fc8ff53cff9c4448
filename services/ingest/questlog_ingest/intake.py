"""Taking in a list of events: each is checked against the catalog, the valid ones are
published to the events topic keyed by user, the invalid ones to the dead-letter topic
with their reason, and the caller learns which were accepted and why others were not."""

import asyncio
from dataclasses import dataclass, field
from typing import Any

import orjson
from questlog_catalog.records import Invalid, RequestContext, build_record

from questlog_ingest import metrics
from questlog_ingest.dependencies import Services


@dataclass
class Outcome:
    accepted: list[dict[str, Any]] = field(default_factory=list)  # index, event_id
    rejected: list[dict[str, Any]] = field(default_factory=list)  # index, reason

    def body(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "rejected": self.rejected}


async def take_in(events: list[Any], context: RequestContext, services: Services) -> Outcome:
    catalog, settings, personal = services.catalog, services.settings, services.personal
    outcome = Outcome()
    valid: list[tuple[str, bytes]] = []
    dead: list[tuple[str, bytes]] = []
    accepted_types: list[str] = []
    for index, raw in enumerate(events):
        try:
            record = checked_record(raw, context, services)
        except Invalid as invalid:
            raw = personal.protect_raw(raw, catalog)
            outcome.rejected.append({"index": index, "reason": str(invalid)})
            claimed = raw.get("event_type") if isinstance(raw, dict) else None
            label = claimed if isinstance(claimed, str) and claimed in catalog else "unknown"
            metrics.EVENTS_REJECTED.labels(label, invalid.kind).inc()
            dead.append((_key(raw), _dead_letter(raw, index, invalid, context)))
            continue
        outcome.accepted.append({"index": index, "event_id": record["event_id"]})
        accepted_types.append(record["event_type"])
        valid.append((record["user_id"], orjson.dumps(record)))
    await asyncio.gather(
        services.publisher.publish(settings.kafka.events_topic, valid),
        services.publisher.publish(settings.kafka.invalid_topic, dead),
    )
    for event_type in accepted_types:
        metrics.EVENTS_ACCEPTED.labels(event_type).inc()
    return outcome


def checked_record(raw: Any, context: RequestContext, services: Services) -> dict[str, Any]:
    """The record ``raw`` is published as: checked against the catalog (raises Invalid),
    with its personal fields protected."""
    record = build_record(raw, services.catalog, context)
    return services.personal.protect(record, services.catalog[record["event_type"]].personal)


def _key(raw: Any) -> str:
    user = raw.get("user_id") if isinstance(raw, dict) else None
    return user if isinstance(user, str) else ""


def _dead_letter(raw: Any, index: int, invalid: Invalid, context: RequestContext) -> bytes:
    return orjson.dumps(
        {
            "reason": str(invalid),
            "kind": invalid.kind,
            "index": index,
            "event": raw,
            "received_at": context.received_at.isoformat(),
            "host": context.host,
            "user_agent": context.user_agent,
            "source": context.source,
            "client_ip": context.client_ip,
        }
    )

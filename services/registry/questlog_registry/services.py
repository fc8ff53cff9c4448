"""What the registry's routes work with, set up once when the app starts
(``app.state.services``)."""

from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request
from questlog_catalog import EventType
from questlog_catalog.personal import PersonalData
from questlog_catalog.records import Invalid, RequestContext, build_record
from questlog_settings import RegistrySettings

from questlog_registry.kafka import KafkaSender
from questlog_registry.relay import OutboxRelay
from questlog_registry.store import InvalidPilot, Record, Registry, Stage


@dataclass(frozen=True)
class Services:
    settings: RegistrySettings
    catalog: dict[str, EventType]
    personal: PersonalData
    registry: Registry
    send: KafkaSender
    relay: OutboxRelay

    def stage(self, context: RequestContext) -> Stage:
        """How a change's event becomes its Kafka record: checked against the catalog (a
        change whose event it refuses is refused), completed with ``context``, its personal
        fields protected, as the API publishes the events it takes in."""

        def staged(event: dict[str, Any]) -> Record:
            try:
                record = build_record(event, self.catalog, context)
            except Invalid as invalid:
                raise InvalidPilot(str(invalid)) from None
            record = self.personal.protect(record, self.catalog[record["event_type"]].personal)
            return record["user_id"], orjson.dumps(record)

        return staged


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found

"""What the API's routes work with, and the request's context.

Routes call ``services(request)`` rather than declaring FastAPI dependencies: FastAPI
resolves each dependency on every request, and on the event routes their three cost about
a tenth of the requests answered a second.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request

from questlog.catalog import EventType
from questlog_ingest.publisher import Publisher
from questlog_ingest.registry.store import Registry
from questlog_ingest.settings import IngestSettings
from questlog_ingest.validation import RequestContext


@dataclass(frozen=True)
class Services:
    """Set up once when the app starts (``app.state.services``)."""

    settings: IngestSettings
    catalog: dict[str, EventType]
    publisher: Publisher
    registry: Registry


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def context(request: Request) -> RequestContext:
    return RequestContext(
        received_at=datetime.now(UTC),
        host=request.headers.get("host"),
        user_agent=request.headers.get("user-agent"),
    )

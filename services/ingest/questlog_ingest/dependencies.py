"""What the API's routes work with, and the request's context.

Routes call ``services(request)`` rather than declaring FastAPI dependencies: FastAPI
resolves each dependency on every request, and on the event routes their three cost about
a tenth of the requests answered a second.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request

from questlog.catalog import EventType
from questlog_ingest.auth import Authenticator
from questlog_ingest.client_address import client_ip
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
    authenticator: Authenticator


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def authenticate(request: Request) -> None:
    """Refuse the request (401, 403) unless it carries a write key that may post; its name
    becomes the ``source`` of the events the request publishes."""
    request.state.source = await services(request).authenticator.source(request)


def context(request: Request) -> RequestContext:
    return RequestContext(
        received_at=datetime.now(UTC),
        host=request.headers.get("host"),
        user_agent=request.headers.get("user-agent"),
        source=getattr(request.state, "source", None),
        client_ip=client_ip(request, services(request).settings),
    )

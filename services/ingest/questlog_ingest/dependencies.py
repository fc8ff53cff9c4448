"""What the API's routes work with, and the request's context.

Routes call ``services(request)`` rather than declaring FastAPI dependencies: FastAPI
resolves each dependency on every request, and on the event routes their three cost about
a tenth of the requests answered a second.
"""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException, Request
from questlog_catalog import EventType
from questlog_catalog.personal import PersonalData
from questlog_catalog.records import RequestContext
from questlog_settings import ApiSettings

from questlog_ingest.access import Access
from questlog_ingest.auth import Authenticator
from questlog_ingest.client_address import Address, client_address, client_ip
from questlog_ingest.publisher import Publisher
from questlog_ingest.rate_limits import RateLimits
from questlog_ingest.registry import RegistryClient

UNSET: Any = object()
# What a client is refused for: no write key or an unknown one, a revoked one, a rate limit.
REFUSALS = (401, 403, 429)


@dataclass(frozen=True)
class Services:
    """Set up once when the app starts (``app.state.services``)."""

    settings: ApiSettings
    catalog: dict[str, EventType]
    publisher: Publisher
    registry: RegistryClient
    authenticator: Authenticator
    rate_limits: RateLimits
    personal: PersonalData


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def admit(request: Request, access: Access) -> None:
    """Refuse a request when its client address is over its rate limit (429) and, where
    ``access`` asks for a key, unless it carries a write key that may call the route (401,
    403: an operator's key for ``Access.OPERATOR``) and is within that key's limit (429).
    The key's name becomes the ``source`` of the events the request publishes.

    A refusal is answered after ``refusal_delay_seconds``, as login forms do: a client that
    floods from a few connections then waits on its own refusals, about one a second per
    connection, instead of taking the process's time from other clients."""
    found = services(request)
    try:
        found.rate_limits.take("address", str(address_of(request)))
        if key_required(access, found.settings):
            scheme = "Basic" if access is Access.GAME else "Bearer"
            holder = await found.authenticator.admitted(request, scheme)
            if access is Access.OPERATOR and not holder.operator:
                raise HTTPException(
                    403,
                    f"the write key {holder.name!r} is not an operator's: this route needs "
                    "one (questlog keys create NAME --operator)",
                )
            request.state.source = holder.name
            found.rate_limits.take("key", holder.name)
    except HTTPException as refusal:
        if refusal.status_code in REFUSALS:
            await asyncio.sleep(found.settings.api.refusal_delay_seconds)
        raise


def key_required(access: Access, settings: ApiSettings) -> bool:
    """Whether a route of ``access`` needs a key: always an operator's, else as the
    settings say."""
    return access is Access.OPERATOR or bool(getattr(settings.api, access.value))


def address_of(request: Request) -> Address | None:
    """The client's whole address (client_address.py), found once per request."""
    found: Address | None = getattr(request.state, "client_address", UNSET)
    if found is UNSET:
        found = request.state.client_address = client_address(request, services(request).settings)
    return found


def context(request: Request) -> RequestContext:
    return RequestContext(
        received_at=datetime.now(UTC),
        host=request.headers.get("host"),
        user_agent=request.headers.get("user-agent"),
        source=getattr(request.state, "source", None),
        client_ip=client_ip(address_of(request), services(request).settings),
    )

"""What the API's routes depend on: FastAPI dependencies and the request's context."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from questlog.catalog import EventType, load_catalog
from questlog_ingest.publisher import Publisher
from questlog_ingest.registry.store import Registry
from questlog_ingest.settings import IngestSettings
from questlog_ingest.validation import RequestContext


# Dependencies are async so that FastAPI calls them inline, not in its thread pool (a
# thread hand-off per dependency per request cost more than the rest of a request).
async def app_settings(request: Request) -> IngestSettings:
    """The settings the app started with: get_settings(), or a test's override of it."""
    settings: IngestSettings = request.app.state.settings
    return settings


async def get_catalog() -> dict[str, EventType]:
    return load_catalog()


async def get_publisher(request: Request) -> Publisher:
    publisher: Publisher = request.app.state.publisher
    return publisher


async def get_registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


SettingsDep = Annotated[IngestSettings, Depends(app_settings)]
CatalogDep = Annotated[dict[str, EventType], Depends(get_catalog)]
PublisherDep = Annotated[Publisher, Depends(get_publisher)]
RegistryDep = Annotated[Registry, Depends(get_registry)]


def context(request: Request) -> RequestContext:
    return RequestContext(
        received_at=datetime.now(UTC),
        host=request.headers.get("host"),
        user_agent=request.headers.get("user-agent"),
    )

"""The pilot registry's service (FastAPI): its pages and JSON routes (pilots.py), the write
keys the ingest API checks, and the outbox relay. Run one Uvicorn process per pod or machine
(questlog/stack/components.py: REGISTRY_COMMAND):

python -m uvicorn questlog_registry.app:create_app --factory --port 8003

Only the ingest API reaches it: the API serves its routes to clients and passes each
client's context on (questlog_catalog.records), which the registry believes.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from questlog_catalog import load_catalog
from questlog_catalog.personal import PersonalData
from questlog_settings import RegistrySettings, get_registry_settings
from sqlalchemy.exc import OperationalError

from questlog_registry import metrics, pilots
from questlog_registry.kafka import KafkaSender, KafkaUnavailable
from questlog_registry.keys import WriteKeys
from questlog_registry.relay import OutboxRelay
from questlog_registry.services import Services, services
from questlog_registry.store import Registry, RegistryError, RegistryNotReady, open_engine

log = logging.getLogger("questlog.registry")


def prepare(registry: Registry, settings: RegistrySettings) -> None:
    """Migrate the registry's database, and store the deployment's own write key."""
    registry.migrate()
    if key := settings.registry.provisioned_write_key:
        WriteKeys(registry).provision(settings.registry.provisioned_write_key_name, key)


async def try_preparing(registry: Registry, settings: RegistrySettings) -> bool:
    """Prepare the registry's database; False (and the registry unready) if unreachable."""
    try:
        await asyncio.to_thread(prepare, registry, settings)
        return True
    except OperationalError as error:
        registry.unready = f"its database cannot be reached ({error.orig})"
        return False


async def prepare_when_reachable(registry: Registry, settings: RegistrySettings) -> None:
    """Try preparing the registry's database every retry_after_seconds until it works."""
    while not await try_preparing(registry, settings):
        await asyncio.sleep(settings.registry.retry_after_seconds)
    log.warning("the registry's database is reachable again and migrated")


async def write_key_holder(request: Request, key_digest: str) -> dict[str, object]:
    """Whom the write key of this SHA-256 digest was given to, whether it was revoked and
    whether it is an operator's (the ingest API asks, to check its clients' keys); 404 for a
    key never created."""
    keys = WriteKeys(services(request).registry)
    holder = await asyncio.to_thread(keys.holder_of, key_digest)
    if holder is None:
        raise HTTPException(404, "no write key has this digest")
    return {"name": holder.name, "revoked": holder.revoked, "operator": holder.operator}


async def healthz() -> dict[str, str]:
    """Liveness: the process serves requests."""
    return {"status": "alive"}


async def readyz(request: Request) -> JSONResponse:
    """Readiness: the database is migrated and answers. Kafka is not needed: changes wait
    in the outbox while it is down."""
    try:
        await asyncio.to_thread(services(request).registry.check)
    except (RegistryNotReady, OperationalError) as error:
        return JSONResponse({"detail": f"the registry's database: {error}"}, 503)
    return JSONResponse({"status": "ready"})


async def metrics_endpoint() -> Response:
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)


def create_app() -> FastAPI:
    def current_settings() -> RegistrySettings:
        """The settings the app runs with: get_registry_settings, or what a test overrides
        it with."""
        return app.dependency_overrides.get(get_registry_settings, get_registry_settings)()  # type: ignore[no-any-return]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings = current_settings()
        registry = Registry(
            open_engine(settings.registry.database_url, settings.registry.database_password)
        )
        preparing = None
        if not await try_preparing(registry, settings):
            # The process serves meanwhile: its routes answer 503 until a retry works.
            log.warning("the registry is not ready: %s", registry.unready)
            preparing = asyncio.create_task(prepare_when_reachable(registry, settings))
        catalog = load_catalog()
        personal = PersonalData(settings.personal_data_key.get_secret_value(), catalog)
        send = KafkaSender(
            settings.kafka.bootstrap,
            settings.kafka.events_topic,
            settings.registry.delivery_timeout_seconds,
        )
        relay = OutboxRelay(registry, send)
        relay.start()
        app.state.services = Services(settings, catalog, personal, registry, send, relay)
        yield
        if preparing is not None:
            preparing.cancel()
        await relay.close()
        registry.engine.dispose()

    app = FastAPI(
        title="questlog pilot registry",
        version="1",
        description="The space game's pilots and fittings, and the write keys, each change "
        "with its event in an outbox that a relay publishes to Kafka.",
        lifespan=lifespan,
    )

    def retry_later(detail: str) -> JSONResponse:
        headers = {"Retry-After": str(current_settings().registry.retry_after_seconds)}
        return JSONResponse({"detail": detail}, 503, headers=headers)

    @app.exception_handler(RegistryError)
    async def registry_refused(_: Request, error: RegistryError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, error.status)

    @app.exception_handler(OperationalError)
    async def database_unreachable(_: Request, error: OperationalError) -> JSONResponse:
        return retry_later(f"the registry's database cannot be reached ({error.orig})")

    @app.exception_handler(RegistryNotReady)
    async def not_ready(_: Request, error: RegistryNotReady) -> JSONResponse:
        return retry_later(f"the registry (pilots and write keys) cannot be used yet: {error}")

    @app.exception_handler(KafkaUnavailable)
    async def kafka_unavailable(_: Request, error: KafkaUnavailable) -> JSONResponse:
        return retry_later(f"{error}; retry later")

    app.include_router(pilots.router)
    app.add_api_route("/v1/write-keys/{key_digest}", write_key_holder, tags=["write keys"])
    app.add_api_route("/healthz", healthz, tags=["operations"])
    app.add_api_route("/readyz", readyz, tags=["operations"])
    app.add_api_route("/metrics", metrics_endpoint, tags=["operations"])
    return app

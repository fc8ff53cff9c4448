"""The ingest API (FastAPI). Run with one Uvicorn process per pod or machine:

uvicorn --factory questlog_ingest.app:create_app --host 127.0.0.1 --port 8000
"""

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from questlog.catalog import EventType, load_catalog
from questlog_ingest import openapi
from questlog_ingest.game import ROUTES, GameRoute, game_event
from questlog_ingest.intake import Outcome, take_in
from questlog_ingest.metrics import RequestMetrics
from questlog_ingest.publisher import KafkaUnavailable, Publisher
from questlog_ingest.settings import IngestSettings, get_settings
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


SettingsDep = Annotated[IngestSettings, Depends(app_settings)]
CatalogDep = Annotated[dict[str, EventType], Depends(get_catalog)]
PublisherDep = Annotated[Publisher, Depends(get_publisher)]

RNG = random.Random()
OUTCOME_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"description": "Kafka acknowledged every accepted event; the others are listed."},
    400: {"description": "The body is not valid JSON."},
    413: {"description": "The body or the batch is larger than the limit."},
    415: {"description": "The body is not sent as application/json."},
    422: {"description": "No event was valid; each is listed with the reason."},
    503: {"description": "Kafka cannot take events now; retry after Retry-After seconds."},
}


def context(request: Request) -> RequestContext:
    return RequestContext(
        received_at=datetime.now(UTC),
        host=request.headers.get("host"),
        user_agent=request.headers.get("user-agent"),
    )


async def read_json(request: Request, settings: IngestSettings) -> Any:
    """The body parsed as strict JSON (no NaN or Infinity), refused early when too large."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise HTTPException(415, "send events as Content-Type: application/json")
    limit = settings.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the body has {declared} bytes; the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"the body is larger than the limit of {limit} bytes")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise HTTPException(400, f"malformed JSON: {error}") from None


def events_of(payload: Any, settings: IngestSettings) -> list[Any]:
    """A batch ``{"events": [...]}`` or a single event, as a list of events."""
    if not (isinstance(payload, dict) and "events" in payload and "event_type" not in payload):
        return [payload]
    if set(payload) != {"events"}:
        raise HTTPException(422, "a batch is an object with the single key 'events'")
    events = payload["events"]
    if not isinstance(events, list) or not events:
        raise HTTPException(422, "events: a non-empty array of events is required")
    if len(events) > settings.max_batch_events:
        raise HTTPException(
            413,
            f"a batch holds at most {settings.max_batch_events} events; this one has {len(events)}",
        )
    return events


def outcome_response(outcome: Outcome) -> Response:
    status = 202 if outcome.accepted else 422
    return Response(orjson.dumps(outcome.body()), status, media_type="application/json")


async def post_events(
    request: Request, settings: SettingsDep, catalog: CatalogDep, publisher: PublisherDep
) -> Response:
    """Take in one event, or a batch of them. Each valid event is published to Kafka keyed by
    its user; each invalid one is answered with its index and reason and kept in the
    dead-letter topic. The answer comes once Kafka has acknowledged them."""
    events = events_of(await read_json(request, settings), settings)
    return outcome_response(await take_in(events, context(request), catalog, publisher, settings))


def game_endpoint(route: GameRoute) -> Callable[..., Awaitable[Response]]:
    async def endpoint(
        request: Request, settings: SettingsDep, catalog: CatalogDep, publisher: PublisherDep
    ) -> Response:
        event = await game_event(request, route, RNG)
        outcome = await take_in([event], context(request), catalog, publisher, settings)
        if outcome.rejected:
            raise HTTPException(422, outcome.rejected[0]["reason"])
        return PlainTextResponse(route.answer)

    endpoint.__name__ = f"game_{route.event_type}_{route.path.strip('/').lower() or 'root'}"
    endpoint.__doc__ = f"The original game's {route.path}: emits a {route.event_type} event."
    return endpoint


async def healthz() -> dict[str, str]:
    """Liveness: the process serves requests."""
    return {"status": "alive"}


async def readyz(settings: SettingsDep, publisher: PublisherDep) -> JSONResponse:
    """Readiness: a Kafka broker answers metadata requests."""
    if await asyncio.to_thread(publisher.broker_reachable, 2.0):
        return JSONResponse({"status": "ready"})
    return JSONResponse({"detail": f"Kafka at {settings.kafka_bootstrap} is unreachable"}, 503)


async def metrics_endpoint() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def noop(request: Request) -> Response:
    """Reads the body and answers, nothing else: the framework's own cost, for benchmarks."""
    await request.body()
    return Response(b'{"accepted":[],"rejected":[]}', 202, media_type="application/json")


def create_app() -> FastAPI:
    settings = get_settings()

    def current_settings() -> IngestSettings:
        """The settings requests see: get_settings, or what a test overrides it with."""
        return app.dependency_overrides.get(get_settings, get_settings)()  # type: ignore[no-any-return]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = current_settings()
        publisher = Publisher(app.state.settings)
        publisher.start()
        app.state.publisher = publisher
        yield
        await publisher.close()

    app = FastAPI(
        title="questlog ingest API",
        version="1",
        description="Validated, batched event intake into Kafka. Event types come from the "
        "event catalog; see the Event schemas.",
        lifespan=lifespan,
    )
    app.add_middleware(RequestMetrics)

    @app.exception_handler(KafkaUnavailable)
    async def kafka_unavailable(_: Request, error: KafkaUnavailable) -> JSONResponse:
        return JSONResponse(
            {"detail": f"Kafka cannot take events now ({error}); retry later"},
            503,
            headers={"Retry-After": str(current_settings().retry_after_seconds)},
        )

    app.add_api_route(
        "/v1/events",
        post_events,
        methods=["POST"],
        status_code=202,
        tags=["events"],
        responses=OUTCOME_RESPONSES,
        openapi_extra={"requestBody": openapi.request_body()},
    )
    for route in ROUTES:
        endpoint = game_endpoint(route)
        for method in ("GET", "POST"):
            app.add_api_route(
                route.path,
                endpoint,
                methods=[method],
                operation_id=f"{endpoint.__name__}_{method.lower()}",
                tags=["game"],
                response_class=PlainTextResponse,
            )
    app.add_api_route("/healthz", healthz, methods=["GET"], tags=["operations"])
    app.add_api_route("/readyz", readyz, methods=["GET"], tags=["operations"])
    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], tags=["operations"])
    if settings.enable_noop_route:
        app.add_api_route("/v1/noop", noop, methods=["POST"], include_in_schema=False)

    def custom_openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(
                openapi.components(load_catalog(), settings.max_batch_events)
            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = custom_openapi  # type: ignore[method-assign]
    return app

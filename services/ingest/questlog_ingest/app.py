"""The ingest API (FastAPI). Run one server process (server.py) per pod or machine:

python -m questlog_ingest.server --host 127.0.0.1 --port 8000
"""

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from questlog_catalog import load_catalog
from questlog_catalog.personal import PersonalData
from questlog_settings import ApiSettings, get_api_settings

from questlog_ingest import openapi
from questlog_ingest.access import Access
from questlog_ingest.auth import Authenticator
from questlog_ingest.dependencies import Services, admit, context, services
from questlog_ingest.game import ROUTES, GameRoute, game_event
from questlog_ingest.intake import Outcome, take_in
from questlog_ingest.metrics import RequestMetrics
from questlog_ingest.publisher import KafkaUnavailable, Publisher
from questlog_ingest.rate_limits import RateLimits
from questlog_ingest.registry import (
    REGISTRY_EVENTS,
    SERVED,
    RegistryClient,
    RegistryUnavailable,
    is_registered,
)
from questlog_ingest.request_bodies import BodyTooSlow, RequestBodies, body_too_slow

RNG = random.Random()
OUTCOME_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"description": "Kafka acknowledged every accepted event; the others are listed."},
    400: {"description": "The body is not valid JSON."},
    401: {"description": "No write key, or one that is not known (see WWW-Authenticate)."},
    403: {"description": "The write key was revoked."},
    413: {"description": "The body or the batch is larger than the limit."},
    408: {"description": "The body did not arrive within its deadline."},
    415: {"description": "The body is not sent as application/json."},
    422: {"description": "No event was valid; each is listed with the reason."},
    429: {"description": "Over a rate limit (client address, write key); see Retry-After."},
    503: {"description": "Kafka cannot take events now; retry after Retry-After seconds."},
}


async def read_json(request: Request, settings: ApiSettings) -> Any:
    """The body parsed as strict JSON (no NaN or Infinity), refused early when too large."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise HTTPException(415, "send events as Content-Type: application/json")
    try:
        return orjson.loads(await read_body(request, settings))
    except orjson.JSONDecodeError as error:
        raise HTTPException(400, f"malformed JSON: {error}") from None


async def read_body(request: Request, settings: ApiSettings) -> bytes:
    """The body, refused (413) as soon as it is known to be larger than the limit."""
    limit = settings.api.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the body has {declared} bytes; the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"the body is larger than the limit of {limit} bytes")
    return bytes(body)


def events_of(payload: Any, settings: ApiSettings) -> list[Any]:
    """A batch ``{"events": [...]}`` or a single event, as a list of events."""
    if not (isinstance(payload, dict) and "events" in payload and "event_type" not in payload):
        return [payload]
    if set(payload) != {"events"}:
        raise HTTPException(422, "a batch is an object with the single key 'events'")
    events = payload["events"]
    if not isinstance(events, list) or not events:
        raise HTTPException(422, "events: a non-empty array of events is required")
    if len(events) > settings.api.max_batch_events:
        raise HTTPException(
            413,
            f"a batch holds at most {settings.api.max_batch_events} events; "
            f"this one has {len(events)}",
        )
    return events


def outcome_response(outcome: Outcome) -> Response:
    status = 202 if outcome.accepted else 422
    return Response(orjson.dumps(outcome.body()), status, media_type="application/json")


async def post_events(request: Request) -> Response:
    """Take in one event, or a batch of them. Each valid event is published to Kafka keyed by
    its user; each invalid one is answered with its index and reason and kept in the
    dead-letter topic. The answer comes once Kafka has acknowledged them."""
    found = services(request)
    await admit(request, Access.EVENTS)
    events = events_of(await read_json(request, found.settings), found.settings)
    return outcome_response(await take_in(events, context(request), found))


async def publish_game_event(request: Request, event: dict[str, Any]) -> None:
    outcome = await take_in([event], context(request), services(request))
    if outcome.rejected:
        raise HTTPException(422, outcome.rejected[0]["reason"])


def game_endpoint(route: GameRoute) -> Callable[..., Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        await admit(request, Access.GAME)
        await publish_game_event(request, await game_event(request, route, RNG))
        return PlainTextResponse(route.answer)

    async def registry_endpoint(request: Request) -> Response:
        found = services(request)
        await admit(request, Access.GAME)
        event = await game_event(request, route, RNG)
        valid = found.catalog[route.event_type].is_valid(event)
        if valid and is_registered(event):
            await found.registry.record(event, context(request))
        else:  # an anonymous fitting is published as it is; an invalid event is refused
            await publish_game_event(request, event)
        return PlainTextResponse(route.answer)

    chosen = registry_endpoint if route.event_type in REGISTRY_EVENTS else endpoint
    chosen.__name__ = f"game_{route.event_type}_{route.path.strip('/').lower() or 'root'}"
    chosen.__doc__ = f"The original game's {route.path}: emits a {route.event_type} event."
    return chosen


async def healthz() -> dict[str, str]:
    """Liveness: the process serves requests."""
    return {"status": "alive"}


# How long /readyz waits for a broker's answer (a readiness probe must wait longer).
READY_CHECK_SECONDS = 2.0


async def readyz(request: Request) -> JSONResponse:
    """Readiness: a Kafka broker answers metadata requests."""
    found = services(request)
    if await asyncio.to_thread(found.publisher.broker_reachable, READY_CHECK_SECONDS):
        return JSONResponse({"status": "ready"})
    detail = f"Kafka at {found.settings.kafka.bootstrap} is unreachable"
    return JSONResponse({"detail": detail}, 503)


async def metrics_endpoint() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def noop(request: Request) -> Response:
    """Reads the body and answers, nothing else: the framework's own cost, for benchmarks."""
    await request.body()
    return Response(b'{"accepted":[],"rejected":[]}', 202, media_type="application/json")


def registry_route(access: Access) -> Callable[[Request], Awaitable[Response]]:
    """One of the pilot registry's routes, admitted as ``access`` says and answered by the
    registry (registry.py), with the key's name as the source of what it emits."""

    async def endpoint(request: Request) -> Response:
        found = services(request)
        await admit(request, access)
        request_context = context(request)
        body = await read_body(request, found.settings)
        return await found.registry.serve(request, body, request_context)

    return endpoint


def create_app() -> FastAPI:
    settings = get_api_settings()

    def current_settings() -> ApiSettings:
        """The settings requests see: get_api_settings, or what a test overrides it with."""
        return app.dependency_overrides.get(get_api_settings, get_api_settings)()  # type: ignore[no-any-return]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings = current_settings()
        publisher = Publisher(settings)
        publisher.start()
        registry = RegistryClient(settings.registry.url, settings.api.registry_timeout_seconds)
        authenticator = Authenticator(registry, settings.api.write_key_cache_seconds)
        rate_limits = RateLimits(
            settings.api.rate_limit_per_address, settings.api.rate_limit_per_key
        )
        catalog = load_catalog()
        personal = PersonalData(settings.personal_data_key.get_secret_value(), catalog)
        app.state.services = Services(
            settings, catalog, publisher, registry, authenticator, rate_limits, personal
        )
        yield
        await registry.close()
        await publisher.close()

    app = FastAPI(
        title="questlog ingest API",
        version="1",
        description="Validated, batched event intake into Kafka. Event types come from the "
        "event catalog; see the Event schemas.",
        lifespan=lifespan,
    )
    app.add_middleware(RequestMetrics)
    app.add_middleware(RequestBodies)
    app.add_exception_handler(BodyTooSlow, body_too_slow)

    def retry_later(detail: str) -> JSONResponse:
        headers = {"Retry-After": str(current_settings().api.retry_after_seconds)}
        return JSONResponse({"detail": detail}, 503, headers=headers)

    @app.exception_handler(RegistryUnavailable)
    async def registry_unavailable(_: Request, error: RegistryUnavailable) -> JSONResponse:
        return retry_later(f"{error}; retry later")

    @app.exception_handler(KafkaUnavailable)
    async def kafka_unavailable(_: Request, error: KafkaUnavailable) -> JSONResponse:
        return retry_later(f"Kafka cannot take events now ({error}); retry later")

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
    # After the game routes, which the benchmarks load: routes are matched in order.
    for path, (methods, access) in SERVED.items():
        app.add_api_route(path, registry_route(access), methods=methods, include_in_schema=False)
    app.add_api_route("/healthz", healthz, methods=["GET"], tags=["operations"])
    app.add_api_route("/readyz", readyz, methods=["GET"], tags=["operations"])
    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], tags=["operations"])
    if settings.api.enable_noop_route:
        app.add_api_route("/v1/noop", noop, methods=["POST"], include_in_schema=False)

    def custom_openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(
                openapi.components(load_catalog(), settings.api.max_batch_events)
            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = custom_openapi  # type: ignore[method-assign]
    return app

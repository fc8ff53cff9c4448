"""The API's Prometheus metrics, and the ASGI middleware that times every request."""

import time

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

EVENTS_ACCEPTED = Counter(
    "questlog_events_accepted_total", "Events acknowledged by Kafka, by type.", ["event_type"]
)
EVENTS_REJECTED = Counter(
    "questlog_events_rejected_total",
    "Events refused as invalid, by claimed type and reason kind.",
    ["event_type", "reason"],
)
RATE_LIMITED = Counter(
    "questlog_rate_limited_total",
    "Requests answered 429, by the limit they were over (client address or write key).",
    ["limit"],
)
REQUEST_LATENCY = Histogram(
    "questlog_http_request_duration_seconds",
    "Time to answer a request, by method, route and status.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DELIVERY_LATENCY = Histogram(
    "questlog_kafka_delivery_seconds",
    "Time from handing an event to the producer to Kafka's acknowledgement (or failure).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DELIVERY_ERRORS = Counter(
    "questlog_kafka_delivery_errors_total", "Events Kafka did not acknowledge, by error.", ["error"]
)
PRODUCER_QUEUE = Gauge(
    "questlog_kafka_producer_queue_depth", "Events waiting in the producer for Kafka."
)


class RequestMetrics:
    """Pure ASGI middleware (no per-request task or body buffering) recording latency by
    route template, so /v1/events and each game route have one series each."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            route = scope.get("route")
            REQUEST_LATENCY.labels(
                scope["method"], getattr(route, "path", "unmatched"), str(status)
            ).observe(time.perf_counter() - started)

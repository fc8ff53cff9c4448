"""The registry's Prometheus metrics, in a collector registry of its own: one of them has
the name of one of the ingest API's, and a process may import both (the tests do)."""

from prometheus_client import CollectorRegistry, Counter, Gauge, ProcessCollector

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
# The name the ingest API counts its events by too: what the pipeline took in, by type,
# once Kafka acknowledged it (the reconciliation alert sums both).
EVENTS_ACCEPTED = Counter(
    "questlog_events_accepted_total",
    "Events acknowledged by Kafka, by type.",
    ["event_type"],
    registry=REGISTRY,
)
OUTBOX_EVENTS = Gauge(
    "questlog_registry_outbox_events",
    "Events of registry changes committed but not yet acknowledged by Kafka (after the "
    "relay's last pass).",
    registry=REGISTRY,
)

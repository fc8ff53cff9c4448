"""The sections of settings the deployables read (models.py). The local stack's tooling
reads wider ones (questlog.settings): the same settings, with where each component listens
and the defaults that follow the stack's host and state folder."""

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, IPvAnyNetwork
from questlog_catalog import ASSESSMENTS_TOPIC, EVENTS_DIR, EVENTS_TOPIC, dead_letter_topic

from questlog_settings.base import Section

DEFAULT_HOST = "127.0.0.1"


class Kafka(Section):
    # Where clients reach the broker.
    bootstrap: str = f"{DEFAULT_HOST}:9092"
    events_topic: str = EVENTS_TOPIC
    invalid_topic: str = Field(default_factory=lambda s: dead_letter_topic(s["events_topic"]))
    # The topic the assessments batch job builds its tables from.
    assessments_topic: str = ASSESSMENTS_TOPIC


class Api(Section):
    # Requests larger than this are refused with 413 before they are read.
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    # A request's headers must arrive within header_timeout_seconds (server.py), its body
    # within body_timeout_seconds of them (request_bodies.py), or it is answered 408.
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    # The body of a refused request (too large, no key, over a limit) is read and discarded
    # up to this many bytes and seconds before the answer, so that clients that send it all
    # before they read get the answer, not a reset (request_bodies.py).
    drain_bytes: int = Field(default=16 * 1_048_576, ge=0)
    drain_seconds: float = Field(default=5.0, ge=0)
    max_batch_events: int = Field(default=500, gt=0)
    # How long the producer waits to batch events of concurrent requests into one request.
    # Each request waits for its acknowledgement, so lingering adds to its time; many
    # replicas in front of a remote cluster may linger to send fewer, larger requests.
    kafka_linger_ms: float = Field(default=0.0, ge=0)
    # How long Kafka has to acknowledge an event before the request is answered 503.
    delivery_timeout_seconds: float = Field(default=10.0, gt=0)
    # Events waiting in the producer's queue; past this, requests are answered 503.
    producer_queue_limit: int = Field(default=100_000, gt=0)
    retry_after_seconds: int = Field(default=5, gt=0)
    # POST /v1/events and the registry's JSON routes need a write key (``questlog keys
    # create``); the game's original routes and the registry's page need one only when
    # game_routes_require_write_key is set (the course projects' ab scripts send none).
    require_write_key: bool = True
    game_routes_require_write_key: bool = False
    # How long the API waits for the pilot registry's answer (its routes, write keys).
    registry_timeout_seconds: float = Field(default=10.0, gt=0)
    # How long an API process trusts what it read of a key: a revocation takes effect on
    # every replica within this many seconds.
    write_key_cache_seconds: float = Field(default=10.0, ge=0)
    # The proxies (addresses or networks, such as an Ingress controller's pods) whose
    # X-Forwarded-For is believed: the events' client_ip is then the address the nearest
    # of them forwarded rather than theirs. Empty by default: the header is never read.
    trusted_proxies: list[IPvAnyNetwork] = Field(default_factory=list)
    # How many leading bits of the client's address are stored: its /24 (IPv4) or /48
    # (IPv6) network by default; 32 and 128 keep addresses whole.
    client_ip_prefix_v4: int = Field(default=24, ge=0, le=32)
    client_ip_prefix_v6: int = Field(default=48, ge=0, le=128)
    # Rate limits of the API's routes, in the notation of the limits library
    # ("100/second;2000/minute"); empty: none. Counted per client address (before the write
    # key is checked) and per write key, by each replica on its own: N replicas take up to
    # N times a limit. Answered 429 with Retry-After.
    rate_limit_per_address: str = ""
    rate_limit_per_key: str = ""
    # How long a request refused for its write key (401, 403) or its rate (429) waits for
    # its answer (dependencies.py: admit): a flooding client's own connections then hold
    # its flood back.
    refusal_delay_seconds: float = Field(default=1.0, ge=0)
    # A route that does nothing, to measure the framework's own cost (benchmarks only).
    enable_noop_route: bool = False


class RegistryEndpoint(Section):
    # Where the ingest API reaches the pilot registry's service.
    url: str = f"http://{DEFAULT_HOST}:8003"


class Registry(Section):
    # Its database (SQLAlchemy URL): SQLite on one machine, PostgreSQL on Kubernetes; the
    # password, when set, replaces the URL's (so it can come from a secret).
    database_url: str
    database_password: str = ""
    # A deployment's own write key (from a secret): the registry stores it as the key named
    # provisioned_write_key_name when it starts, so the deployment's clients (the Helm
    # chart's test hooks, canary and load test) can post with it.
    provisioned_write_key: str = ""
    provisioned_write_key_name: str = "cluster"
    # How long Kafka has to acknowledge the outbox's events before the relay tries again.
    delivery_timeout_seconds: float = Field(default=10.0, gt=0)
    # The Retry-After of a 503, while its database cannot be reached.
    retry_after_seconds: int = Field(default=5, gt=0)


class Lake(Section):
    # Root of the lake as a Hadoop URI: file:///a/folder on one machine, or
    # s3a://bucket/path on an S3-compatible store.
    root: str
    # Where the streaming query keeps its offsets and dedup state (durable storage); only
    # the streaming app needs it.
    checkpoint_root: str = ""
    # The metastore database of the tables.
    database: str = "default"
    catalog_dir: Path = EVENTS_DIR
    # Minutes between the rounds of lake maintenance (what `make compact` does) the
    # streaming app runs itself; 0 for none (on Kubernetes a scheduled job does it).
    maintenance_minutes: float = Field(default=60, ge=0)

    @property
    def dir(self) -> Path:
        """The lake's folder, for a lake on this machine (a file:// ``root``)."""
        return Path(urlsplit(self.root).path)

    @property
    def on_s3(self) -> bool:
        return self.root.startswith("s3a://")

    def table_uri(self, table: str) -> str:
        return f"{self.root.rstrip('/')}/{table}"


class Stream(Section):
    # Seconds between micro-batches.
    trigger_seconds: float = Field(default=10.0, gt=0)
    # A client's repeated event_id is dropped when it arrives within this window.
    dedup_window: str = "10 minutes"
    # Events that happened longer than this before they were received count as late.
    allowed_lateness: str = "1 hour"
    # Cap on Kafka records per micro-batch, which bounds a batch's memory when a backlog
    # is drained.
    max_offsets_per_trigger: int = Field(default=50_000, gt=0)
    # The streaming app's Prometheus endpoint: the address it listens on and its port.
    metrics_host: str = DEFAULT_HOST
    metrics_port: int = 8001


class Load(Section):
    # A Locust run of loadtest/: its name (the suffix of its user agent; default a new one),
    # its users and seconds (default: its shape's own), the thresholds it must meet or exit
    # with 1, and the file it writes its summary to (events accepted, by client).
    run: str = ""
    users: int = Field(default=50, gt=0)
    seconds: float | None = Field(default=None, gt=0)
    max_failure_ratio: float = Field(default=0.01, ge=0)
    max_p95_ms: float = Field(default=500, gt=0)
    summary: str = ""

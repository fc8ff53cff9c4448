"""questlog's one settings model, read from the environment.

Every component reads the same model: ``QUESTLOG_<SECTION>_<NAME>`` sets ``<name>`` of a
section (``QUESTLOG_KAFKA_BOOTSTRAP`` is ``settings.kafka.bootstrap``), and
``QUESTLOG_<NAME>`` a setting of the whole stack (``QUESTLOG_STATE_DIR``). A process reads
it once, where it starts, and passes it (or its section) to what needs it; the local stack
gives the processes it starts its own values with :func:`environment`.
"""

import json
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from questlog_catalog import ASSESSMENTS_TOPIC, EVENTS_DIR, EVENTS_TOPIC, dead_letter_topic

PREFIX = "QUESTLOG_"
# The checkout this package is in (an editable install): the default home of the local
# stack's state, downloads and reports. Containers set QUESTLOG_STATE_DIR.
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_HOST = "127.0.0.1"


class Section(BaseModel):
    model_config = ConfigDict(frozen=True)


class Kafka(Section):
    port: int = 9092
    controller_port: int = 9093
    # Where clients reach the broker, and the address it announces to them (default: the
    # stack's host and this port).
    bootstrap: str = ""
    heap: str = "512m"
    events_topic: str = EVENTS_TOPIC
    invalid_topic: str = Field(default_factory=lambda s: dead_letter_topic(s["events_topic"]))
    # The topic the assessments batch job builds its tables from.
    assessments_topic: str = ASSESSMENTS_TOPIC


class Metastore(Section):
    port: int = 9083
    uri: str = ""
    heap: str = "512m"
    # JDBC store of the Hive Metastore; empty means an embedded Derby database under state_dir.
    db_url: str = ""
    db_driver: str = "org.postgresql.Driver"
    db_user: str = ""
    db_password: str = ""


class Trino(Section):
    port: int = 8080
    url: str = ""
    heap: str = "1536m"


class Spark(Section):
    # The driver's heap of the local stack's Spark apps.
    heap: str = "1536m"


class Lake(Section):
    # Root of the lake as a Hadoop URI: a folder of state_dir on one machine, or
    # s3a://bucket/path on an S3-compatible store.
    root: str = ""
    # Where the streaming query keeps its offsets and dedup state (durable storage).
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
    # The streaming app's Prometheus endpoint: the address it listens on (default: the
    # stack's host), its port, and where clients reach it.
    metrics_host: str = ""
    metrics_port: int = 8001
    metrics_url: str = ""


class S3(Section):
    # The S3 endpoint of an s3a:// lake. The credentials are never settings: every component
    # reads them from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    endpoint: str = ""
    region: str = "us-east-1"


class Api(Section):
    port: int = 8000
    url: str = ""
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
    # POST /v1/events needs "Authorization: Bearer <write key>" (``questlog keys create``);
    # the game's original routes need one only when game_routes_require_write_key is set
    # (the course projects' ab scripts send none).
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
    trusted_proxies: list[IPvAnyNetwork] = []
    # How many leading bits of the client's address are stored: its /24 (IPv4) or /48
    # (IPv6) network by default; 32 and 128 keep addresses whole.
    client_ip_prefix_v4: int = Field(default=24, ge=0, le=32)
    client_ip_prefix_v6: int = Field(default=48, ge=0, le=128)
    # Rate limits of the event routes, in the notation of the limits library
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


class Registry(Section):
    # The pilot registry's service: its port, and where the ingest API reaches it.
    port: int = 8003
    url: str = ""
    # Its database (SQLAlchemy URL): SQLite under state_dir by default, PostgreSQL on
    # Kubernetes; the password, when set, replaces the URL's (so it can come from a secret).
    database_url: str = ""
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


class Canary(Section):
    # The freshness canary's Prometheus endpoint, and seconds between its canary events.
    port: int = 8002
    url: str = ""
    interval_seconds: float = Field(default=30.0, gt=0)


class Prometheus(Section):
    port: int = 9090
    url: str = ""
    # Seconds between Prometheus' scrapes of the API, the stream and the canary.
    scrape_interval_seconds: int = Field(default=5, gt=0)


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


# The addresses and paths that follow the stack's host, a section's port or the state
# folder (its URI, its path) unless they are set.
DERIVED = {
    ("kafka", "bootstrap"): "{host}:{port}",
    ("metastore", "uri"): "thrift://{host}:{port}",
    ("trino", "url"): "http://{host}:{port}",
    ("api", "url"): "http://{host}:{port}",
    ("stream", "metrics_url"): "http://{host}:{metrics_port}",
    ("stream", "metrics_host"): "{host}",
    ("canary", "url"): "http://{host}:{port}",
    ("prometheus", "url"): "http://{host}:{port}",
    ("lake", "root"): "{state_uri}/lake",
    ("lake", "checkpoint_root"): "{state_uri}/data/stream",
    ("registry", "url"): "http://{host}:{port}",
    ("registry", "database_url"): "sqlite:///{state_dir}/data/registry/registry.db",
}
# The settings that choose a port the local stack listens on: no two may be equal.
PORTS = (
    ("kafka", "port"),
    ("kafka", "controller_port"),
    ("metastore", "port"),
    ("trino", "port"),
    ("api", "port"),
    ("registry", "port"),
    ("stream", "metrics_port"),
    ("canary", "port"),
    ("prometheus", "port"),
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_nested_delimiter="_", env_nested_max_split=1, frozen=True
    )

    # Where state (data, logs, generated config, pid files) lives; `make clean` removes it.
    state_dir: Path = REPO_ROOT / ".stack"
    # Where downloads (Maven artifacts, unpacked Kafka/Trino) are cached; survives `clean`.
    cache_dir: Path = REPO_ROOT / ".cache"
    # Where `make report` writes its chart.
    report_dir: Path = REPO_ROOT / "reports"
    # The address the local stack's components listen on and are reached at; in a
    # container, each address a component talks to is set instead.
    host: str = DEFAULT_HOST
    # Seconds each component gets to become ready after it is started.
    start_timeout: float = Field(default=180.0, gt=0)
    # The key of the HMAC that replaces the fields the catalog marks personal "hash" (the
    # API's personal.py; the erasure job needs it where the catalog hashes user_id). Never
    # logged nor sent anywhere; a new key gives new tokens. Empty: those fields are dropped.
    personal_data_key: SecretStr = SecretStr("")
    # `make images`: CA certificates the build stages trust for their downloads on top of
    # their own (this machine's, so that builds behind a TLS-intercepting proxy work; empty
    # for none). Only build stages read them: no image keeps them.
    build_ca_bundle: str = "/etc/ssl/certs/ca-certificates.crt"
    # Where the Debian stand-in base is fetched from, where no registry serves the bases.
    debian_mirror: str = "http://deb.debian.org/debian"

    kafka: Kafka = Kafka()
    metastore: Metastore = Metastore()
    trino: Trino = Trino()
    spark: Spark = Spark()
    lake: Lake = Lake()
    stream: Stream = Stream()
    s3: S3 = S3()
    api: Api = Api()
    registry: Registry = Registry()
    canary: Canary = Canary()
    prometheus: Prometheus = Prometheus()
    load: Load = Load()

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        """Fill the addresses and paths that follow other settings, where they are unset."""
        if not isinstance(data, dict):
            return data
        state_dir = Path(data.get("state_dir") or cls.model_fields["state_dir"].default)
        stack = {
            "host": data.get("host") or DEFAULT_HOST,
            "state_dir": state_dir,
            "state_uri": state_dir.as_uri(),
        }
        data = dict(data)
        for (section, name), template in DERIVED.items():
            values = _values(data.get(section))
            if not values.get(name):
                known = {**cls.model_fields[section].default.model_dump(), **values}
                values[name] = template.format(**stack, **known)
            data[section] = values
        return data

    @model_validator(mode="after")
    def _consistent(self) -> "Settings":
        ports: dict[int, str] = {}
        for section, name in PORTS:
            port = getattr(getattr(self, section), name)
            variable = env_name(section, name)
            if port in ports:
                raise ValueError(
                    f"{variable} and {ports[port]} are both {port}; each component needs a "
                    "port of its own"
                )
            ports[port] = variable
        if self.lake.on_s3 and not self.s3.endpoint:
            raise ValueError(
                f"QUESTLOG_LAKE_ROOT is {self.lake.root}: set QUESTLOG_S3_ENDPOINT too"
            )
        return self

    @property
    def write_key_file(self) -> Path:
        """The local stack's write key (for the demo, the canary, loads and benchmarks)."""
        return self.state_dir / "write-key"

    @property
    def personal_data_key_file(self) -> Path:
        """The key of the HMAC the local stack's API hashes personal fields with."""
        return self.state_dir / "personal-data-key"


def _values(section: Any) -> dict[str, Any]:
    if isinstance(section, BaseModel):
        return section.model_dump(exclude_unset=True)
    return dict(section or {})


def env_name(section: str, name: str | None = None) -> str:
    """The environment variable of a setting: of a section's ``name``, or of the top-level
    setting ``section``."""
    return f"{PREFIX}{section}_{name}".upper() if name else f"{PREFIX}{section}".upper()


def variables() -> set[str]:
    """The environment variable of every setting."""
    found = set()
    for key, field in Settings.model_fields.items():
        if isinstance(field.default, Section):
            found |= {env_name(key, name) for name in type(field.default).model_fields}
        else:
            found.add(env_name(key))
    return found


def environment(settings: Settings) -> dict[str, str]:
    """These settings as the environment variables that make another process read them
    (the secret personal-data key excepted: it is passed only where it is needed). An unset
    optional setting is left out, as it is unset there too."""
    found: dict[str, str] = {}
    for key, value in settings.model_dump(mode="json", exclude={"personal_data_key"}).items():
        if isinstance(value, dict):
            items = {env_name(key, name): item for name, item in value.items()}
        else:
            items = {env_name(key): value}
        found |= {name: _text(item) for name, item in items.items() if item is not None}
    return found


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@lru_cache
def get_settings() -> Settings:
    """The settings of this process, read from its environment once."""
    return Settings()

"""Settings of the ingest API, from the environment (prefix ``QUESTLOG_``)."""

from functools import lru_cache

from pydantic import Field, IPvAnyNetwork, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from questlog_catalog import EVENTS_TOPIC, dead_letter_topic


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QUESTLOG_", frozen=True)

    kafka_bootstrap: str = "127.0.0.1:9092"
    events_topic: str = EVENTS_TOPIC
    invalid_topic: str = dead_letter_topic(EVENTS_TOPIC)
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
    # The pilot registry's database (SQLAlchemy URL): SQLite by default, PostgreSQL on
    # Kubernetes; its password, when set, replaces the URL's (so it can come from a secret).
    registry_url: str = "sqlite:////tmp/questlog/registry.db"
    registry_password: str = ""
    # POST /v1/events needs "Authorization: Bearer <write key>" (``questlog keys create``);
    # the game's original routes need one only when game_routes_require_write_key is set
    # (the course projects' ab scripts send none).
    require_write_key: bool = True
    game_routes_require_write_key: bool = False
    # How long an API process trusts what it read of a key: a revocation takes effect on
    # every replica within this many seconds.
    write_key_cache_seconds: float = Field(default=10.0, ge=0)
    # A deployment's own key (from a secret): the API stores it as the key named
    # provisioned_write_key_name when it starts, so the deployment's clients (the Helm
    # chart's test hooks, canary and load test) can post with it.
    provisioned_write_key: str = ""
    provisioned_write_key_name: str = "cluster"
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
    # The key of the HMAC that replaces the fields the catalog marks personal "hash"
    # (personal.py). Never logged nor sent anywhere; a new key gives new tokens. Empty:
    # those fields are dropped instead.
    personal_data_key: SecretStr = SecretStr("")
    # A route that does nothing, to measure the framework's own cost (benchmarks only).
    enable_noop_route: bool = False


@lru_cache
def get_settings() -> IngestSettings:
    return IngestSettings()

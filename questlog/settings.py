"""Settings of the local stack, read from the environment (prefix ``QUESTLOG_``).

Every port, path and heap size the local stack uses comes from here, so that a second
stack (a test's, say) or a container can run the same code with other values.
"""

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QUESTLOG_", frozen=True)

    # Where state (data, logs, generated config, pid files) lives; `make clean` removes it.
    state_dir: Path = REPO_ROOT / ".stack"
    # Where downloads (Maven artifacts, unpacked Kafka/Trino) are cached; survives `clean`.
    cache_dir: Path = REPO_ROOT / ".cache"
    # Where `make report` writes its chart.
    report_dir: Path = REPO_ROOT / "reports"

    host: str = "127.0.0.1"
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    metastore_port: int = 9083
    trino_port: int = 8080
    api_port: int = 8000
    # The streaming app's Prometheus endpoint.
    stream_metrics_port: int = 8001
    # The freshness canary's Prometheus endpoint, and seconds between its canary events.
    canary_port: int = 8002
    canary_interval_seconds: float = Field(default=30.0, gt=0)
    prometheus_port: int = 9090
    # Seconds between Prometheus' scrapes of the API, the stream and the canary.
    scrape_interval_seconds: int = Field(default=5, gt=0)

    # Where clients reach each component. On one machine that is `host` and the component's
    # port; in a container, the address of the component it talks to (and, for Kafka and
    # Trino, the address they announce to their clients).
    kafka_bootstrap: str = Field(default_factory=lambda s: f"{s['host']}:{s['kafka_port']}")
    metastore_uri: str = Field(
        default_factory=lambda s: f"thrift://{s['host']}:{s['metastore_port']}"
    )
    trino_url: str = Field(default_factory=lambda s: f"http://{s['host']}:{s['trino_port']}")
    api_url: str = Field(default_factory=lambda s: f"http://{s['host']}:{s['api_port']}")
    stream_metrics_url: str = Field(
        default_factory=lambda s: f"http://{s['host']}:{s['stream_metrics_port']}"
    )
    canary_url: str = Field(default_factory=lambda s: f"http://{s['host']}:{s['canary_port']}")
    prometheus_url: str = Field(
        default_factory=lambda s: f"http://{s['host']}:{s['prometheus_port']}"
    )

    # Root of the lake as a Hadoop URI: a folder of state_dir on one machine, or
    # s3a://bucket/path on an S3-compatible store.
    lake_root: str = Field(default_factory=lambda s: (s["state_dir"] / "lake").as_uri())
    # Where the streaming query keeps its offsets and dedup state.
    checkpoint_root: str = Field(
        default_factory=lambda s: (s["state_dir"] / "data" / "stream").as_uri()
    )
    # The S3 endpoint of an s3a:// lake. The credentials are never settings: every component
    # reads them from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    s3_endpoint: str = ""
    s3_region: str = "us-east-1"

    # JDBC store of the Hive Metastore; empty means an embedded Derby database under state_dir.
    metastore_db_url: str = ""
    metastore_db_driver: str = "org.postgresql.Driver"
    metastore_db_user: str = ""
    metastore_db_password: str = ""

    kafka_heap: str = "512m"
    metastore_heap: str = "512m"
    trino_heap: str = "1536m"
    spark_heap: str = "1536m"
    # Minutes between the rounds of lake maintenance the streaming app runs (what
    # `make compact` does; on Kubernetes a scheduled job does it); 0 for none.
    maintenance_minutes: float = Field(default=60, ge=0)

    # Seconds each component gets to become ready after it is started.
    start_timeout: float = Field(default=180.0, gt=0)

    # `make images`: CA certificates the build stages trust for their downloads on top of
    # their own (this machine's, so that builds behind a TLS-intercepting proxy work; empty
    # for none). Only build stages read them: no image keeps them.
    build_ca_bundle: str = "/etc/ssl/certs/ca-certificates.crt"
    # Where the Debian stand-in base is fetched from, where no registry serves the bases.
    debian_mirror: str = "http://deb.debian.org/debian"

    @model_validator(mode="after")
    def _consistent(self) -> "StackSettings":
        ports: dict[int, str] = {}
        for setting in (
            "kafka_port",
            "kafka_controller_port",
            "metastore_port",
            "trino_port",
            "api_port",
            "stream_metrics_port",
            "canary_port",
            "prometheus_port",
        ):
            port = getattr(self, setting)
            if port in ports:
                raise ValueError(
                    f"QUESTLOG_{setting.upper()} and QUESTLOG_{ports[port].upper()} are both "
                    f"{port}; each component needs a port of its own"
                )
            ports[port] = setting
        if self.lake_on_s3 and not self.s3_endpoint:
            raise ValueError(
                f"QUESTLOG_LAKE_ROOT is {self.lake_root}: set QUESTLOG_S3_ENDPOINT too"
            )
        return self

    @property
    def lake_dir(self) -> Path:
        """The lake's folder, for a lake on this machine (a file:// ``lake_root``)."""
        return Path(urlsplit(self.lake_root).path)

    @property
    def write_key_file(self) -> Path:
        """The local stack's write key (for the demo, the canary, loads and benchmarks)."""
        return self.state_dir / "write-key"

    @property
    def personal_data_key_file(self) -> Path:
        """The key of the HMAC the local stack's API hashes personal fields with."""
        return self.state_dir / "personal-data-key"

    @property
    def lake_on_s3(self) -> bool:
        return self.lake_root.startswith("s3a://")


@lru_cache
def get_settings() -> StackSettings:
    return StackSettings()

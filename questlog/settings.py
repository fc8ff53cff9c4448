"""Settings of the local stack, read from the environment (prefix ``QUESTLOG_``).

Every port, path and heap size the local stack uses comes from here, so that a second
stack (a test's, say) or a container can run the same code with other values.
"""

from functools import lru_cache
from pathlib import Path

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

    # JDBC store of the Hive Metastore; empty means an embedded Derby database under state_dir.
    metastore_db_url: str = ""
    metastore_db_driver: str = "org.postgresql.Driver"
    metastore_db_user: str = ""
    metastore_db_password: str = ""

    kafka_heap: str = "512m"
    metastore_heap: str = "512m"
    trino_heap: str = "1536m"
    spark_heap: str = "1536m"

    # Seconds each component gets to become ready after it is started.
    start_timeout: float = Field(default=180.0, gt=0)

    @model_validator(mode="after")
    def _ports_are_distinct(self) -> "StackSettings":
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
        return self

    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.host}:{self.kafka_port}"

    @property
    def metastore_uri(self) -> str:
        return f"thrift://{self.host}:{self.metastore_port}"

    @property
    def trino_url(self) -> str:
        return f"http://{self.host}:{self.trino_port}"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def prometheus_url(self) -> str:
        return f"http://{self.host}:{self.prometheus_port}"

    @property
    def lake_dir(self) -> Path:
        """Root of the Parquet lake; the metastore's warehouse for tables without a location."""
        return self.state_dir / "lake"


@lru_cache
def get_settings() -> StackSettings:
    return StackSettings()

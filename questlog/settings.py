"""The tooling's settings: the local stack (every component's port, heap and address, its
state folder), the images' builds, the loads and the benchmarks. A superset of each
deployable's settings (questlog_settings), which the stack hands each process it starts:
``environment(narrow(settings, ApiSettings))`` are the API's variables.

The tooling runs from a checkout, so its folders default to the checkout's (``REPO_ROOT``);
an image of the stack's components sets them. Addresses and paths follow the stack's host,
a component's port or the state folder unless they are set (``DERIVED``).
"""

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, model_validator
from questlog_settings import (
    DEFAULT_HOST,
    Api,
    Kafka,
    Lake,
    Load,
    QuestlogSettings,
    Registry,
    Section,
    SettingsError,
    Stream,
    env_name,
    read,
)

# The checkout the tooling runs from (an editable install).
REPO_ROOT = Path(__file__).resolve().parents[1]


class LocalKafka(Kafka):
    port: int = 9092
    controller_port: int = 9093
    # Where clients reach the broker, and the address it announces to them (default: the
    # stack's host and this port).
    bootstrap: str = ""
    heap: str = "512m"


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


class LocalLake(Lake):
    # Default: a folder of the state folder.
    root: str = ""
    checkpoint_root: str = ""


class LocalStream(Stream):
    # The streaming app's Prometheus endpoint: the address it listens on (default: the
    # stack's host), and where clients reach it.
    metrics_host: str = ""
    metrics_url: str = ""


class S3(Section):
    # The S3 endpoint of an s3a:// lake. The credentials are never settings: every component
    # reads them from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    endpoint: str = ""
    region: str = "us-east-1"


class LocalApi(Api):
    port: int = 8000
    url: str = ""


class LocalRegistry(Registry):
    # The pilot registry's service: its port, and where the ingest API reaches it.
    port: int = 8003
    url: str = ""
    # Default: SQLite under the state folder.
    database_url: str = ""


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


class Images(Section):
    # `make images`: CA certificates the build stages trust for their downloads on top of
    # their own (this machine's, so that builds behind a TLS-intercepting proxy work; empty
    # for none). Only build stages read them: no image keeps them.
    build_ca_bundle: str = "/etc/ssl/certs/ca-certificates.crt"
    # Where the Debian stand-in base is fetched from, where no registry serves the bases.
    debian_mirror: str = "http://deb.debian.org/debian"


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


class Settings(QuestlogSettings):
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
    # The personal-data key, where the tooling runs a process that needs it (questlog
    # forget's job); the local stack keeps its own in personal_data_key_file.
    personal_data_key: SecretStr = SecretStr("")

    images: Images = Images()
    kafka: LocalKafka = LocalKafka()
    metastore: Metastore = Metastore()
    trino: Trino = Trino()
    spark: Spark = Spark()
    lake: LocalLake = LocalLake()
    stream: LocalStream = LocalStream()
    s3: S3 = S3()
    api: LocalApi = LocalApi()
    registry: LocalRegistry = LocalRegistry()
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
        if self.lake.on_s3 and not self.s3.endpoint:
            raise ValueError(
                f"{env_name('lake', 'root')} is {self.lake.root}: set "
                f"{env_name('s3', 'endpoint')} too"
            )
        return self

    def check_ports(self) -> None:
        """``SettingsError`` unless each port the local stack listens on is its own."""
        ports: dict[int, str] = {}
        for section, name in PORTS:
            port = getattr(getattr(self, section), name)
            variable = env_name(section, name)
            if port in ports:
                raise SettingsError(
                    f"{variable} and {ports[port]} are both {port}; each component of the "
                    "local stack needs a port of its own"
                )
            ports[port] = variable

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


@lru_cache
def get_settings() -> Settings:
    """The tooling's settings, read from its environment once."""
    return read(Settings)

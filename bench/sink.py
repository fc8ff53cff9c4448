"""Apache Iceberg's Kafka Connect sink, the peer questlog's stream is measured against.

Kafka Connect's standalone worker (``ConnectStandalone``, of the stack's Kafka release) runs
the sink as a plugin (``<cache>/lib/kafka-connect`` on the class path, ``<cache>/lib/
iceberg-sink`` as its plugin folder; ``questlog.stack.install`` fetches both). The sink routes
each record by its ``event_type`` into the typed tables questlog's stream writes (created
beforehand, as it creates none here), through the same Hive Metastore, and commits every
``commit_seconds`` as questlog's stream does every trigger. Its own transforms give the
records their ``event_date``: ``CopyValue`` copies ``occurred_at``, Kafka's
``TimestampConverter`` makes it a date. It neither validates nor deduplicates.
"""

import shutil
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from questlog_catalog import EventType

from bench.ingest import free_port
from questlog.settings import Settings
from questlog.stack.install import install, lib_dir
from questlog.stack.java import system_java
from questlog.stack.probes import create_topics

CONNECTOR = "org.apache.iceberg.connect.IcebergSinkConnector"
COPY_VALUE = "org.apache.iceberg.connect.transforms.CopyValue"
TIMESTAMP_CONVERTER = "org.apache.kafka.connect.transforms.TimestampConverter$Value"
# The API's timestamps: ISO 8601 in UTC, to the millisecond ("2026-12-07T22:41:53.123Z").
TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSX"
LOG_CONFIG = """\
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = out
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.iceberg.name = org.apache.iceberg.connect
logger.iceberg.level = INFO
"""


def install_sink(settings: Settings) -> None:
    """Fetch Kafka Connect's worker and the sink, when missing (``ivy/kafka-connect.xml``,
    ``ivy/iceberg-sink.xml``)."""
    install(settings, system_java(), for_bench=True)


def properties(values: Mapping[str, str | int]) -> str:
    return "".join(f"{key}={value}\n" for key, value in values.items())


@dataclass(frozen=True)
class SinkRun:
    """One run of the sink: a topic into a database's tables."""

    topic: str
    database: str
    warehouse: str  # the lake root the tables are under (a Hadoop URI)
    event_types: list[EventType]
    commit_seconds: float
    tasks: int

    def connector(self) -> dict[str, str | int]:
        """The connector's configuration, under a new name (its control topic and consumer
        groups are named after it)."""
        name = f"questlog-bench-sink-{uuid.uuid4().hex[:8]}"
        tables = {f"{self.database}.{t.table}": t.name for t in self.event_types}
        return {
            "name": name,
            "connector.class": CONNECTOR,
            "tasks.max": self.tasks,
            "topics": self.topic,
            "iceberg.tables": ",".join(tables),
            "iceberg.tables.route-field": "event_type",
            **{f"iceberg.table.{table}.route-regex": kind for table, kind in tables.items()},
            "iceberg.tables.auto-create-enabled": "false",
            "iceberg.tables.evolve-schema-enabled": "false",
            "iceberg.control.topic": f"{name}.control",
            "iceberg.control.group-id-prefix": f"{name}-control",
            "iceberg.control.commit.interval-ms": round(self.commit_seconds * 1000),
            "iceberg.catalog.type": "hive",
            "iceberg.catalog.warehouse": self.warehouse,
            # Commits swap the metadata location as questlog's do (the metastore's schema
            # has no lock tables; questlog.stack.spark's PIPELINE_CONF says more).
            "iceberg.hadoop.iceberg.engine.hive.lock-enabled": "false",
            "transforms": "day,date",
            "transforms.day.type": COPY_VALUE,
            "transforms.day.source.field": "occurred_at",
            "transforms.day.target.field": "event_date",
            "transforms.date.type": TIMESTAMP_CONVERTER,
            "transforms.date.field": "event_date",
            "transforms.date.target.type": "Date",
            "transforms.date.format": TIMESTAMP_FORMAT,
        }


class ConnectWorker:
    """The files and command of a standalone Kafka Connect worker running one ``SinkRun``;
    they live in a folder of their own until ``remove``."""

    def __init__(self, settings: Settings, run: SinkRun) -> None:
        self.settings, self.run = settings, run
        self.folder = Path(tempfile.mkdtemp(prefix="questlog-bench-connect-"))
        self.connector = {**run.connector(), "iceberg.catalog.uri": settings.metastore.uri}
        self.rest = f"http://127.0.0.1:{free_port()}"

    def command(self) -> list[str]:
        connector = self.connector
        create_topics(self.settings.kafka.bootstrap, [str(connector["iceberg.control.topic"])], 1)
        # The plugin path names folders holding one folder per plugin.
        plugins = self.folder / "plugins"
        plugins.mkdir()
        (plugins / "iceberg-sink").symlink_to(lib_dir(self.settings, "iceberg-sink"))
        worker = {
            "bootstrap.servers": self.settings.kafka.bootstrap,
            "key.converter": "org.apache.kafka.connect.storage.StringConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "false",
            "offset.storage.file.filename": str(self.folder / "offsets"),
            "plugin.path": str(plugins),
            "plugin.discovery": "only_scan",
            "listeners": self.rest,
            # A task that has no records answers the sink's commit requests only when
            # the worker calls it, which an idle worker does when it commits offsets (every
            # minute by default): the tail of a backlog would wait that long.
            "offset.flush.interval.ms": 1000,
        }
        (self.folder / "worker.properties").write_text(properties(worker))
        (self.folder / "sink.properties").write_text(properties(connector))
        (self.folder / "log4j2.properties").write_text(LOG_CONFIG)
        return [
            system_java(),
            f"-Xmx{self.settings.spark.heap}",
            f"-Dlog4j2.configurationFile={(self.folder / 'log4j2.properties').as_uri()}",
            "-cp",
            f"{lib_dir(self.settings, 'kafka-connect')}/*",
            "org.apache.kafka.connect.cli.ConnectStandalone",
            str(self.folder / "worker.properties"),
            str(self.folder / "sink.properties"),
        ]

    def fault(self) -> str | None:
        """The trace of a failed task (the worker goes on running without it), if any."""
        try:
            status = httpx.get(f"{self.rest}/connectors/{self.connector['name']}/status").json()
        except (httpx.HTTPError, ValueError):
            return None  # not serving yet
        failed = [t for t in status.get("tasks", []) if t["state"] == "FAILED"]
        return failed[0].get("trace", "a task failed") if failed else None

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

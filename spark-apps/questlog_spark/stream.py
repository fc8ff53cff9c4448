"""The streaming app: Kafka ``events`` -> one typed, date-partitioned Iceberg table per
event type (and dead letters) in the Hive Metastore, exactly once.

Each micro-batch: drop repeated event_ids (within the dedup window), parse every record
with its type's schema, and append each table's rows (one file per date) in one Iceberg
commit per table, whose snapshot records the stream's checkpoint and the batch id. Spark
re-runs a batch whose end it did not record (the app was killed, say) with the same
records; each table that already has a snapshot of that batch is skipped. When the query
fails (Kafka away, say) it is started again from its checkpoint, as a SparkApplication
with ``restartPolicy: Always``. With ``QUESTLOG__LAKE__MAINTENANCE_MINUTES`` set, it also
maintains the tables itself every so many minutes (``compact.maintain_every``).

    spark-submit stream.py [--available-now]
"""

import argparse
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from prometheus_client import start_http_server
from pyspark import StorageLevel
from pyspark.errors import StreamingQueryException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming.query import StreamingQuery
from questlog_catalog import EventType, load_catalog
from questlog_settings import SparkSettings, env_name, get_spark_settings

from questlog_spark import stream_metrics as metrics
from questlog_spark.compact import maintain_every
from questlog_spark.parse import (
    LATE,
    TABLE,
    EventParser,
    dead_letter_rows,
    deduplicated,
    with_dedup_key,
)
from questlog_spark.schemas import DEAD_LETTER_TABLE, PARTITION_COLUMN
from questlog_spark.tables import ensure_tables, snapshots, table_columns

log = logging.getLogger("questlog.stream")
# Seconds between restarts of a failing query, growing while it keeps failing; a query
# that ran this long before it failed starts again from the shortest delay.
RESTART_DELAYS = (5, 10, 20, 40, 60)
HEALTHY_SECONDS = 300


class Stopwatch:
    """Seconds each step of a batch took, for its log line."""

    def __init__(self) -> None:
        self.started = self.last = time.monotonic()
        self.laps: list[tuple[str, float]] = []

    def lap(self, step: str) -> None:
        now = time.monotonic()
        self.laps.append((step, now - self.last))
        self.last = now

    @property
    def total(self) -> float:
        return time.monotonic() - self.started

    def __str__(self) -> str:
        steps = ", ".join(f"{step} {seconds:.2f}" for step, seconds in self.laps)
        return f"{self.total:.2f} s ({steps})"


# Snapshot properties of a stream commit: whose checkpoint, which micro-batch.
CHECKPOINT_PROPERTY, BATCH_PROPERTY = "questlog.checkpoint", "questlog.batch-id"


class LakeRows:
    """A parsed batch's rows for each lake table, typed as the table is. The expressions are
    built once, not each batch (``EventParser``)."""

    def __init__(self, catalog: dict[str, EventType], allowed_lateness: str) -> None:
        self.parser = EventParser(catalog, allowed_lateness)
        self._columns = {
            table: [F.col(f.name).cast(f.dataType) for f in columns.fields]
            for table, columns in table_columns(catalog).items()
        }

    def parse(self, records: DataFrame) -> DataFrame:
        return self.parser.parse(records)

    def of(self, parsed: DataFrame, table: str) -> DataFrame:
        if table == DEAD_LETTER_TABLE:
            rows = dead_letter_rows(parsed)
        else:
            rows = self.parser.table_rows(parsed, table)
        return rows.select(self._columns[table])


def append_tables(
    parsed: DataFrame,
    lake_rows: LakeRows,
    tables: set[str],
    database: str,
    properties: dict[str, str],
) -> None:
    """Append the rows of each of ``tables`` to its Iceberg table, one commit each, with
    ``properties`` in the snapshot summary. One file per (table, date) when ``parsed`` is
    partitioned by both (hence no shuffle by Iceberg, and a writer per date in a task). The
    appends are submitted at once, so Spark runs their tasks side by side."""

    def append(table: str) -> None:
        writer = (
            lake_rows.of(parsed, table)
            .writeTo(f"`{database}`.`{table}`")
            .option("distribution-mode", "none")
            .option("fanout-enabled", "true")
        )
        for key, value in properties.items():
            writer = writer.option(f"snapshot-property.{key}", value)
        writer.append()

    with ThreadPoolExecutor(max_workers=len(tables)) as pool:
        list(pool.map(append, sorted(tables)))


class BatchCommitter:
    """``foreachBatch`` function: lands one micro-batch exactly once."""

    def __init__(self, spark: SparkSession, settings: SparkSettings, checkpoint: str) -> None:
        self.spark = spark
        self.settings = settings
        self.checkpoint = checkpoint
        self.lake_rows = LakeRows(
            load_catalog(settings.lake.catalog_dir), settings.stream.allowed_lateness
        )
        self.first = True

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        clock = Stopwatch()
        parsed = self.lake_rows.parse(batch)
        # One task per (table, date), so each writes exactly one file; kept (spilling to
        # disk if need be) since each table's write reads it.
        parsed = parsed.repartition(TABLE, PARTITION_COLUMN).persist(StorageLevel.MEMORY_AND_DISK)
        counts = (
            parsed.groupBy(TABLE, PARTITION_COLUMN)
            .agg(F.count("*").alias("rows"), F.count_if(LATE).alias("late"))
            .collect()
        )
        clock.lap("parse")
        tables = {row[TABLE] for row in counts}
        if self.first:  # this batch may be a retry: skip the tables that have it
            tables -= self.committed(tables, batch_id)
            self.first = False
        if tables:
            properties = {CHECKPOINT_PROPERTY: self.checkpoint, BATCH_PROPERTY: str(batch_id)}
            append_tables(parsed, self.lake_rows, tables, self.settings.lake.database, properties)
            clock.lap("commit")
        parsed.unpersist()
        committed = [row for row in counts if row[TABLE] in tables]
        for row in committed:
            metrics.ROWS_LANDED.labels(row[TABLE]).inc(row["rows"])
            metrics.LATE_EVENTS.labels(row[TABLE]).inc(row["late"])
        metrics.LAST_BATCH.set(batch_id)
        metrics.LAST_COMMIT.set_to_current_time()
        metrics.BATCH_SECONDS.observe(clock.total)
        if counts:
            log.info(
                "batch %d: %d rows committed to %d tables in %s",
                batch_id,
                sum(row["rows"] for row in committed),
                len(tables),
                clock,
            )

    def committed(self, tables: set[str], batch_id: int) -> set[str]:
        """Those of ``tables`` with a snapshot of this stream's batch ``batch_id``."""
        found = set()
        for table in tables:
            rows = self.spark.sql(
                f"SELECT 1 FROM {snapshots(self.settings.lake.database, table)} "
                f"WHERE summary['{CHECKPOINT_PROPERTY}'] = '{self.checkpoint}' "
                f"AND summary['{BATCH_PROPERTY}'] = '{batch_id}'"
            )
            if rows.count():
                found.add(table)
        if found:
            log.info("batch %d was committed to %s already", batch_id, ", ".join(sorted(found)))
        return found


def start_query(
    spark: SparkSession, settings: SparkSettings, available_now: bool
) -> StreamingQuery:
    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka.bootstrap)
        .option("subscribe", settings.kafka.events_topic)
        .option("startingOffsets", "earliest")
        .option("maxOffsetsPerTrigger", settings.stream.max_offsets_per_trigger)
    )
    events = deduplicated(with_dedup_key(reader.load()), settings.stream.dedup_window)
    checkpoint = f"{settings.lake.checkpoint_root.rstrip('/')}/events"
    writer = (
        events.writeStream.queryName("questlog-events")
        .foreachBatch(BatchCommitter(spark, settings, checkpoint))
        .option("checkpointLocation", checkpoint)
    )
    if available_now:
        writer = writer.trigger(availableNow=True)
    else:
        writer = writer.trigger(processingTime=f"{settings.stream.trigger_seconds} seconds")
    return writer.start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--available-now", action="store_true", help="land what Kafka has now, then stop"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)  # one line per JVM call otherwise
    settings = get_spark_settings()
    if not settings.lake.checkpoint_root:
        parser.error(
            f"{env_name('lake', 'checkpoint_root')} is not set: where the query keeps its "
            "offsets and dedup state (durable storage)"
        )
    spark = SparkSession.builder.appName("questlog-stream").getOrCreate()
    ensure_tables(spark, settings, say=log.info)
    if settings.lake.maintenance_minutes:
        maintain_every(spark, settings, say=log.info)
    start_http_server(settings.stream.metrics_port, addr=settings.stream.metrics_host)
    spark.streams.addListener(metrics.ProgressMetrics())
    failures = 0
    while True:
        query = start_query(spark, settings, args.available_now)
        log.info("query %s started (checkpoint %s)", query.id, settings.lake.checkpoint_root)
        started = time.monotonic()
        try:
            query.awaitTermination()
            break
        except StreamingQueryException as error:
            if time.monotonic() - started > HEALTHY_SECONDS:
                failures = 0  # a new failure, not the last one again
            delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS) - 1)]
            failures += 1
            metrics.QUERY_RESTARTS.inc()
            log.error("query failed, starting it again in %d s: %s", delay, error)
            time.sleep(delay)
    spark.stop()


if __name__ == "__main__":
    main()

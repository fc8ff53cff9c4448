"""The streaming app: Kafka ``events`` -> one typed, date-partitioned, snappy Parquet table
per event type (and dead letters), registered in the Hive Metastore, exactly once.

Each micro-batch: drop repeated event_ids (within the dedup window), parse every record
with its type's schema, write each (table, date) as one file to staging, then commit the
files into their partitions under the lake lock (see ``lake``) and register new partitions.
Spark re-runs a batch whose commit it did not record with the same records; the commit
sees the files already there and adds nothing. When the query fails (Kafka away, say) it
is started again from its checkpoint, as a SparkApplication with ``restartPolicy: Always``.

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

from questlog.catalog import EventType, load_catalog
from questlog_spark import stream_metrics as metrics
from questlog_spark.lake import (
    SUPERSEDED,
    LakeFiles,
    batch_file_name,
    lake_lock,
    last_batch,
    partition_folder,
)
from questlog_spark.parse import (
    LATE,
    TABLE,
    dead_letter_rows,
    deduplicated,
    parse_events,
    table_rows,
    with_dedup_key,
)
from questlog_spark.schemas import DEAD_LETTER_TABLE, PARTITION_COLUMN
from questlog_spark.settings import LakeSettings, get_lake_settings
from questlog_spark.tables import PARTITION_PREFIX, Partitions, ensure_tables

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


def stage_tables(
    parsed: DataFrame, catalog: dict[str, EventType], tables: set[str], folder: str
) -> None:
    """Write the rows of each of ``tables`` to ``<folder>/<table>/event_date=…/``, one file
    per (table, date) when ``parsed`` is partitioned by both. The writes are submitted at
    once, so Spark runs their tasks side by side."""
    by_table = {t.table: t for t in catalog.values()}

    def write(table: str) -> None:
        if table == DEAD_LETTER_TABLE:
            rows = dead_letter_rows(parsed)
        else:
            rows = table_rows(parsed, by_table[table])
        (
            rows.write.mode("overwrite")
            .option("compression", "snappy")
            .partitionBy(PARTITION_COLUMN)
            .parquet(f"{folder}/{table}")
        )

    with ThreadPoolExecutor(max_workers=len(tables)) as pool:
        list(pool.map(write, sorted(tables)))


class BatchCommitter:
    """``foreachBatch`` function: lands one micro-batch exactly once."""

    def __init__(self, spark: SparkSession, settings: LakeSettings) -> None:
        self.spark = spark
        self.settings = settings
        self.catalog = load_catalog(settings.catalog_dir)
        self.files = LakeFiles(spark, settings.lake_root)
        self.partitions = Partitions(spark, settings)
        self.locations: dict[tuple[str, str], str] = {}

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        clock = Stopwatch()
        parsed = parse_events(batch, self.catalog, self.settings.allowed_lateness)
        # One task per (table, date), so each writes exactly one file; kept (spilling to
        # disk if need be) since each table's write reads it.
        parsed = parsed.repartition(TABLE, PARTITION_COLUMN).persist(StorageLevel.MEMORY_AND_DISK)
        counts = (
            parsed.groupBy(TABLE, PARTITION_COLUMN)
            .agg(F.count("*").alias("rows"), F.count_if(LATE).alias("late"))
            .collect()
        )
        clock.lap("parse")
        committed = []
        if counts:  # empty when every record of the batch was a repeat
            staging = f"{self.settings.staging_uri}/batch-{batch_id}"
            self.files.delete(staging)  # what an earlier attempt of this batch left
            stage_tables(parsed, self.catalog, {row[TABLE] for row in counts}, staging)
            clock.lap("write")
            with lake_lock(self.spark, self.settings.lock_ttl_seconds):
                for row in counts:
                    date = row[PARTITION_COLUMN].isoformat()
                    if self.commit(row[TABLE], date, f"{staging}/{row[TABLE]}", batch_id):
                        committed.append(row)
            self.files.delete(staging)
            clock.lap("commit")
        parsed.unpersist()
        for row in committed:
            metrics.ROWS_LANDED.labels(row[TABLE]).inc(row["rows"])
            metrics.LATE_EVENTS.labels(row[TABLE]).inc(row["late"])
        metrics.LAST_BATCH.set(batch_id)
        metrics.LAST_COMMIT.set_to_current_time()
        metrics.BATCH_SECONDS.observe(clock.total)
        if counts:
            log.info(
                "batch %d: %d rows in %d files committed in %s",
                batch_id,
                sum(row["rows"] for row in committed),
                len(committed),
                clock,
            )

    def commit(self, table: str, date: str, staged_table: str, batch_id: int) -> bool:
        """Move the batch's file for (table, date) into the partition; False if an earlier
        attempt of the batch already did."""
        location = self.locations.get((table, date)) or self.partitions.location(table, date)
        names = self.files.names(location) if location else []
        if SUPERSEDED in names:  # compacted since we cached it
            location = self.partitions.location(table, date)
            names = self.files.names(location) if location else []
        registered = location is not None
        if location is None:
            location = partition_folder(self.settings.table_uri(table), date)
            names = self.files.names(location)
        committed = False
        if last_batch(names) < batch_id:
            (staged,) = [
                uri
                for uri, _ in self.files.files(f"{staged_table}/{PARTITION_PREFIX}{date}")
                if uri.endswith(".parquet")
            ]
            self.files.rename(staged, f"{location}/{batch_file_name(batch_id)}")
            committed = True
        if not registered:
            self.partitions.add(table, date, location)
        self.locations[(table, date)] = location
        return committed


def start_query(spark: SparkSession, settings: LakeSettings, available_now: bool) -> StreamingQuery:
    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
        .option("subscribe", settings.events_topic)
        .option("startingOffsets", "earliest")
        .option("maxOffsetsPerTrigger", settings.max_offsets_per_trigger)
    )
    events = deduplicated(with_dedup_key(reader.load()), settings.dedup_window)
    writer = (
        events.writeStream.queryName("questlog-events")
        .foreachBatch(BatchCommitter(spark, settings))
        .option("checkpointLocation", f"{settings.checkpoint_root.rstrip('/')}/events")
    )
    if available_now:
        writer = writer.trigger(availableNow=True)
    else:
        writer = writer.trigger(processingTime=f"{settings.trigger_seconds} seconds")
    return writer.start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--available-now", action="store_true", help="land what Kafka has now, then stop"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)  # one line per JVM call otherwise
    settings = get_lake_settings()
    spark = SparkSession.builder.appName("questlog-stream").getOrCreate()
    ensure_tables(spark, settings, say=log.info)
    start_http_server(settings.stream_metrics_port, addr=settings.stream_metrics_host)
    spark.streams.addListener(metrics.ProgressMetrics())
    failures = 0
    while True:
        query = start_query(spark, settings, args.available_now)
        log.info("query %s started (checkpoint %s)", query.id, settings.checkpoint_root)
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

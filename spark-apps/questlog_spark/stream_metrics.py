"""The streaming app's Prometheus metrics: what each committed micro-batch landed, and
what Spark reports of the query's progress."""

import json
import logging
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from pyspark.sql.streaming.listener import StreamingQueryListener

ROWS_LANDED = Counter(
    "questlog_stream_rows_total", "Rows committed to the lake, by table.", ["table"]
)
LATE_EVENTS = Counter(
    "questlog_stream_late_events_total",
    "Events that happened longer than the allowed lateness before they were received.",
    ["table"],
)
BATCH_SECONDS = Histogram(
    "questlog_stream_batch_duration_seconds",
    "Time from a micro-batch's start to its commit.",
    buckets=(0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120),
)
LAST_BATCH = Gauge("questlog_stream_last_committed_batch", "Id of the last committed batch.")
LAST_COMMIT = Gauge(
    "questlog_stream_last_commit_timestamp_seconds", "Unix time of the last committed batch."
)
QUERY_ACTIVE = Gauge("questlog_stream_query_active", "1 while the streaming query runs.")
QUERY_RESTARTS = Counter(
    "questlog_stream_query_restarts_total", "Times the query failed and was started again."
)
INPUT_RATE = Gauge("questlog_stream_input_rows_per_second", "Kafka records arriving, per second.")
PROCESS_RATE = Gauge(
    "questlog_stream_processed_rows_per_second", "Kafka records processed, per second."
)
OFFSETS_BEHIND = Gauge(
    "questlog_stream_kafka_offsets_behind",
    "Largest lag behind the latest offset of a partition (NaN until the query first reports).",
)
OFFSETS_BEHIND.set(float("nan"))
OFFSETS_READ = Gauge(
    "questlog_stream_kafka_offsets_read",
    "Sum over the partitions of the offsets the last micro-batch read up to: once it is at "
    "least the sum of Kafka's end offsets, everything Kafka held then is landed "
    "(NaN until the query first reports).",
)
OFFSETS_READ.set(float("nan"))
DUPLICATES_DROPPED = Counter(
    "questlog_stream_duplicates_dropped_total", "Records dropped as repeats of a seen event_id."
)
TOO_LATE_DROPPED = Counter(
    "questlog_stream_dropped_by_watermark_total",
    "Records older than the deduplication window's watermark, which Spark drops.",
)


def offsets_read(progress: dict[str, Any]) -> int:
    """The sum of the end offsets of a progress report's Kafka sources."""
    total = 0
    for source in progress.get("sources", []):
        end = source.get("endOffset") or {}
        # An object per topic, {partition: offset}; some versions report it as JSON text.
        for partitions in (json.loads(end) if isinstance(end, str) else end).values():
            total += sum(int(offset) for offset in partitions.values())
    return total


log = logging.getLogger("questlog.stream")


def timings(progress: dict[str, Any]) -> str:
    """Where a micro-batch's milliseconds went, as Spark measured them: planning, fetching
    offsets, the batch itself (``addBatch``: read, dedup, parse, write, commit), the write-ahead
    and commit logs, and within the batch the dedup state's updates and commit."""
    steps = dict(progress.get("durationMs", {}))
    for operator in progress.get("stateOperators", []):
        steps["stateUpdates"] = operator.get("allUpdatesTimeMs", 0)
        steps["stateCommit"] = operator.get("commitTimeMs", 0)
    return ", ".join(f"{step} {ms}" for step, ms in steps.items())


class ProgressMetrics(StreamingQueryListener):
    """Copies each progress report of the query into the gauges and counters above."""

    def onQueryStarted(self, event: Any) -> None:
        QUERY_ACTIVE.set(1)

    def onQueryProgress(self, event: Any) -> None:
        progress = json.loads(event.progress.json)
        INPUT_RATE.set(progress.get("inputRowsPerSecond") or 0)
        PROCESS_RATE.set(progress.get("processedRowsPerSecond") or 0)
        behind = [
            float(source.get("metrics", {}).get("maxOffsetsBehindLatest", 0))
            for source in progress.get("sources", [])
        ]
        OFFSETS_BEHIND.set(max(behind, default=0))
        if progress.get("sources"):
            OFFSETS_READ.set(offsets_read(progress))
        if progress.get("numInputRows"):
            log.info("batch %s took (ms): %s", progress.get("batchId"), timings(progress))
        for operator in progress.get("stateOperators", []):
            TOO_LATE_DROPPED.inc(operator.get("numRowsDroppedByWatermark", 0))
            DUPLICATES_DROPPED.inc(
                operator.get("customMetrics", {}).get("numDroppedDuplicateRows", 0)
            )

    def onQueryIdle(self, event: Any) -> None:
        OFFSETS_BEHIND.set(0)  # idle: nothing new in Kafka

    def onQueryTerminated(self, event: Any) -> None:
        QUERY_ACTIVE.set(0)

"""``make bench-lake``: the streaming side of the pipeline, measured on the local stack.

1. Drain: a Kafka backlog of realistic events parsed and landed as one table per event
   type, by questlog's native parse (``questlog_spark.parse``) and by the course projects'
   Python-UDF filter (``../shared/baselines/seed_udf_filter.py``: ``json.loads`` of every
   row, one pass per event type); and the engine's ceiling: the same Spark copying the
   same backlog, unparsed, to one Parquet table. One Spark session, alternating, each round
   on the same backlog; the figures are medians of the per-round ratios of rows/s.
2. Against a real peer: the streaming app and Apache Iceberg's Kafka Connect sink each
   land a backlog of the same events, in turn, as processes of their own (``bench.peer``):
   rows/s from start to the last commit, and CPU seconds per million events; and each one's
   sustainable throughput, fed the same way at rates stepped up (``bench.sustained``).
3. Freshness: at a moderate load on the ingest API, probe events are posted every half
   second and Trino is polled until it returns each; p95 of 202 -> visible in Trino,
   against the streaming app's trigger interval.
4. Micro-batch duration at the peak rate this machine ingests (the API posting 100-event
   batches back to back, on the same cores), from the streaming app's own histogram,
   against the trigger interval.
"""

import argparse
import importlib.util
import random
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import httpx
from pyspark.sql import DataFrame, SparkSession
from questlog_catalog import load_catalog
from questlog_settings import SparkSettings
from questlog_spark.parse import TABLE, with_dedup_key
from questlog_spark.schemas import DEAD_LETTER_TABLE, PARTITION_COLUMN
from questlog_spark.stream import LakeRows, Stopwatch, append_tables
from questlog_spark.tables import ensure_tables

from bench import BASELINES
from bench import spark as bench_spark
from bench.backlog import fill_topic
from bench.figures import Figure, run_alone
from bench.peer import bench_peer, targets
from bench.sink import install_sink
from bench.stack import expect, running_stack, settle, stream_metric
from bench.sustained import bench_sustained
from questlog.settings import REPO_ROOT, Settings
from questlog.stack.probes import trino_query
from questlog.traffic import event_headers, sample_events

SEED_FILTER = BASELINES / "seed_udf_filter.py"
REPORT = REPO_ROOT / "reports" / "bench-lake.md"
CATALOG = load_catalog()


def seed_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("seed_udf_filter", SEED_FILTER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def backlog(spark: SparkSession, settings: Settings, topic: str) -> DataFrame:
    return (
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka.bootstrap)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("endingOffsets", "latest")
        .load()
    )


def drain_native(raw: DataFrame, database: str, lake_rows: LakeRows) -> tuple[int, Stopwatch]:
    """Parse once, append to each Iceberg table as the streaming app does; the rows landed,
    and the seconds of each step (the stream runs the first two as one Spark job)."""
    clock = Stopwatch()
    records = with_dedup_key(raw).persist()
    records.count()
    clock.lap("read")
    parsed = lake_rows.parse(records)
    parsed = parsed.repartition(TABLE, PARTITION_COLUMN).persist()
    landed = parsed.count()
    clock.lap("parse+shuffle")
    tables = {t.table for t in CATALOG.values()} | {DEAD_LETTER_TABLE}
    append_tables(parsed, lake_rows, tables, database, {})
    clock.lap("write+commit")
    parsed.unpersist()
    records.unpersist()
    return landed, clock


def drain_seed(raw: DataFrame, out: str, seed: ModuleType) -> int:
    """The course projects' way: a json.loads UDF pass per event type."""
    for name in CATALOG:
        seed.seed_filter(raw, name).write.mode("overwrite").parquet(f"{out}/{name}")
    spark = raw.sparkSession
    return sum(spark.read.parquet(f"{out}/{name}").count() for name in CATALOG)


def drain_ceiling(raw: DataFrame, out: str) -> int:
    """What the engine does without questlog: the records copied as they are to one table."""
    raw.write.mode("overwrite").option("compression", "snappy").parquet(out)
    return raw.sparkSession.read.parquet(out).count()


def timed(run: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    rows = run()
    return time.perf_counter() - started, rows


@dataclass(frozen=True)
class DrainRound:
    """Rows/s of one round."""

    native: float
    seed: float
    ceiling: float


def bench_drain(settings: Settings, events: int, rounds: int) -> list[DrainRound]:
    topic = f"bench.backlog.{uuid.uuid4().hex[:8]}"
    print(f"Filling the backlog: {events} events into topic {topic} ...")
    fill_topic(settings, topic, events)
    spark = bench_spark.session(settings, "questlog-bench-lake")
    seed = seed_module()
    out = tempfile.mkdtemp(prefix="questlog-bench-lake-")
    target = SparkSettings(lake={"database": "bench_lake", "root": f"file://{out}/lake"})
    bench_spark.drop_tables(spark, target.lake.database)  # what an earlier run left
    ensure_tables(spark, target, say=lambda _: None)
    results = []
    try:
        raw = backlog(spark, settings, topic)
        lake_rows = LakeRows(CATALOG, target.stream.allowed_lateness)
        for round_ in range(1, rounds + 1):
            native_rows, clock = drain_native(raw, target.lake.database, lake_rows)
            native_s = sum(seconds for _, seconds in clock.laps)
            steps = ", ".join(f"{step} {seconds:.1f}" for step, seconds in clock.laps)
            seed_s, seed_rows = timed(lambda: drain_seed(raw, f"{out}/seed", seed))
            ceiling_s, ceiling_rows = timed(lambda: drain_ceiling(raw, f"{out}/ceiling"))
            if {native_rows, seed_rows, ceiling_rows} != {events}:
                raise SystemExit(
                    f"bench: landed {native_rows} (native), {seed_rows} (UDF) and "
                    f"{ceiling_rows} (copy) of {events}"
                )
            print(
                f"  round {round_}: native {native_s:.1f} s ({steps}; "
                f"{events / native_s:,.0f} rows/s), "
                f"UDF {seed_s:.1f} s ({events / seed_s:,.0f} rows/s), "
                f"copy {ceiling_s:.1f} s ({events / ceiling_s:,.0f} rows/s)"
            )
            results.append(DrainRound(events / native_s, events / seed_s, events / ceiling_s))
    finally:
        bench_spark.drop_tables(spark, target.lake.database)
        spark.stop()
        shutil.rmtree(out, ignore_errors=True)
    return results


class Poster:
    """Posts sample events to the ingest API from threads until stopped; a refusal stops
    them, and the benchmark with it (a 503, Kafka not keeping up, is tried again)."""

    def __init__(self, settings: Settings, batch: int, pause: float, threads: int) -> None:
        self.url, self.batch, self.pause = f"{settings.api.url}/v1/events", batch, pause
        self.accepted = 0
        self.refused: httpx.Response | None = None
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        rng = random.Random()
        with httpx.Client(headers=event_headers("questlog-bench"), timeout=30) as client:
            while not self._stop.is_set():
                response = client.post(self.url, json={"events": sample_events(self.batch, rng)})
                if response.status_code == 202:
                    self.accepted += len(response.json()["accepted"])
                elif response.status_code != 503:
                    self.refused = response
                    self._stop.set()
                time.sleep(self.pause)

    def __enter__(self) -> "Poster":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)
        if self.refused is not None:
            expect(self.refused, 202, f"a batch of {self.batch} sample events")


def bench_freshness(settings: Settings, seconds: float) -> list[float]:
    """Seconds from each probe's 202 until Trino returned it."""
    agent = f"questlog-probe/{uuid.uuid4().hex[:8]}"
    acked: dict[str, float] = {}
    seen: dict[str, float] = {}
    done = threading.Event()

    def poll() -> None:
        sql = f"SELECT event_id FROM hive.default.sword_purchases WHERE user_agent = '{agent}'"
        while not done.is_set():
            rows = trino_query(settings.host, settings.trino.port, sql, timeout=30)
            now = time.monotonic()
            for (event_id,) in rows:
                seen.setdefault(str(event_id), now)
            time.sleep(0.25)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    probe = {
        "event_type": "purchase_sword",
        "user_id": "probe",
        "sword_type": "katana",
        "sword_cost": 300,
        "strength": 5.0,
    }
    with Poster(settings, batch=10, pause=0.1, threads=1), httpx.Client() as client:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            response = client.post(
                f"{settings.api.url}/v1/events", json=probe, headers=event_headers(agent)
            )
            accepted = expect(response, 202, "a probe event").json()["accepted"]
            acked[accepted[0]["event_id"]] = time.monotonic()
            time.sleep(0.5)
    wait_until = time.monotonic() + 120
    while len(seen) < len(acked) and time.monotonic() < wait_until:
        time.sleep(0.5)
    done.set()
    poller.join(30)
    missing = set(acked) - set(seen)
    if missing:
        raise SystemExit(f"bench: {len(missing)} probe events never became visible in Trino")
    return [seen[event_id] - acked[event_id] for event_id in acked]


def batch_histogram(settings: Settings) -> tuple[float, float]:
    """(sum, count) of the streaming app's batch duration histogram."""
    name = "questlog_stream_batch_duration_seconds"
    return stream_metric(settings, f"{name}_sum"), stream_metric(settings, f"{name}_count")


def bench_peak_batches(settings: Settings, seconds: float) -> tuple[float, list[float]]:
    """(events/s the API accepted, durations of the micro-batches that ran meanwhile)."""
    durations: list[float] = []
    last = batch_histogram(settings)
    with Poster(settings, batch=100, pause=0, threads=2) as poster:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            time.sleep(0.5)
            now = batch_histogram(settings)
            if now[1] > last[1]:
                durations.append((now[0] - last[0]) / (now[1] - last[1]))
            last = now
        rate = poster.accepted / (time.monotonic() - started)
    return rate, durations


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", type=int, default=100_000, help="backlog size")
    parser.add_argument("--drain-rounds", type=int, default=3)
    parser.add_argument(
        "--peer-events", type=int, default=200_000, help="backlog of the run against the sink"
    )
    parser.add_argument("--peer-rounds", type=int, default=1)
    parser.add_argument(
        "--sustain-rate", type=float, default=2000, help="events/s of the first step"
    )
    parser.add_argument("--sustain-steps", type=int, default=8, help="steps at most")
    parser.add_argument("--sustain-step-seconds", type=float, default=120)
    parser.add_argument("--load-seconds", type=float, default=90, help="length of each load")


# --quick: sizes that take seconds.
QUICK = {
    "events": 2000,
    "drain_rounds": 1,
    "peer_events": 2000,
    "peer_rounds": 1,
    "sustain_rate": 100,
    "sustain_steps": 1,
    "sustain_step_seconds": 5,
    "load_seconds": 5,
}


def main(argv: list[str] | None = None) -> int:
    return run_alone(__doc__, add_arguments, run, REPORT, argv, QUICK)


def run(args: argparse.Namespace) -> list[Figure]:
    if not SEED_FILTER.exists():
        raise SystemExit(f"bench: the baseline {SEED_FILTER} is missing; see bench/README.md")
    settings = running_stack()
    trigger = settings.stream.trigger_seconds

    print(f"\n1. Draining a backlog of {args.events} events, {args.drain_rounds} rounds:")
    settle(settings, args)
    drains = bench_drain(settings, args.events, args.drain_rounds)
    drain_ratio = statistics.median(r.native / r.seed for r in drains)
    ceiling_ratio = statistics.median(r.native / r.ceiling for r in drains)

    print(
        f"\n2. Against Apache Iceberg's Kafka Connect sink: {args.peer_events} events, "
        f"{args.peer_rounds} rounds:"
    )
    install_sink(settings)
    settle(settings, args)
    topic = f"bench.peer.{uuid.uuid4().hex[:8]}"
    print(f"Filling the backlog: {args.peer_events} events into topic {topic} ...")
    expected = fill_topic(settings, topic, args.peer_events)
    with targets(settings, "bench-peer") as target:
        peers = bench_peer(settings, topic, expected, args.peer_rounds, target)
        print(
            f"  Sustainable throughput: steps of {args.sustain_step_seconds:.0f} s from "
            f"{args.sustain_rate:,.0f} events/s, each half as fast again:"
        )
        settle(settings, args)
        sustained = bench_sustained(
            settings, args.sustain_rate, args.sustain_steps, args.sustain_step_seconds, target
        )
    ours_held, theirs_held = sustained["questlog"], sustained["sink"]
    ours = statistics.median(r.questlog.rate for r in peers)
    theirs = statistics.median(r.sink.rate for r in peers)
    our_cpu = statistics.median(r.questlog.cpu_per_million for r in peers)
    their_cpu = statistics.median(r.sink.cpu_per_million for r in peers)

    print(f"\n3. Freshness at a moderate load, {args.load_seconds:.0f} s of probes:")
    settle(settings, args)
    latencies = bench_freshness(settings, args.load_seconds)
    p95 = percentile(latencies, 95)

    print(f"\n4. Micro-batches at peak ingest, {args.load_seconds:.0f} s:")
    settle(settings, args)
    rate, durations = bench_peak_batches(settings, args.load_seconds)
    if not durations:  # not one batch finished: the load's length is the least it took
        durations = [args.load_seconds]
    longest = max(durations)
    native = statistics.median(r.native for r in drains)
    seed = statistics.median(r.seed for r in drains)
    ceiling = statistics.median(r.ceiling for r in drains)
    return [
        Figure(
            "stream: drain, native parse vs UDF filter",
            f"{native:,.0f} vs {seed:,.0f} rows/s",
            drain_ratio,
            ">= 10x",
            drain_ratio >= 10,
        ),
        Figure(
            "stream: drain, native parse vs the engine copying the backlog unparsed",
            f"{native:,.0f} vs {ceiling:,.0f} rows/s",
            ceiling_ratio,
            ">= 50 %",
            ceiling_ratio >= 0.5,
            percent=True,
        ),
        Figure(
            f"stream vs Kafka Connect's Iceberg sink: drain, {args.peer_events:,}-event backlog",
            f"{ours:,.0f} vs {theirs:,.0f} rows/s",
            ours / theirs,
            ">= 1.0x",
            ours >= theirs,
        ),
        Figure(
            "stream vs Kafka Connect's Iceberg sink: CPU s per million events landed",
            f"{our_cpu:,.0f} vs {their_cpu:,.0f} s",
            our_cpu / their_cpu,
            "<= 1.0x",
            our_cpu <= their_cpu,
        ),
        Figure(
            "stream vs Kafka Connect's Iceberg sink: sustainable throughput",
            f"{ours_held} vs {theirs_held} events/s "
            f"({args.sustain_step_seconds:.0f} s steps, p95 freshness <= 2x trigger)",
            ours_held.rate / theirs_held.rate if theirs_held.rate else None,
            ">= 1.0x",
            # Met only if the sink's rate is known: when it held every step, it may be higher.
            ours_held.rate >= theirs_held.rate and not theirs_held.every_step,
        ),
        Figure(
            "stream: p95 202 -> visible in Trino, vs trigger",
            f"{p95:.1f} s vs {trigger:.0f} s ({len(latencies)} probes)",
            p95 / trigger,
            "<= 1.3x",
            p95 <= 1.3 * trigger,
        ),
        Figure(
            "stream: longest batch at peak ingest, vs trigger",
            f"{longest:.1f} s vs {trigger:.0f} s (median {statistics.median(durations):.1f} s "
            f"of {len(durations)}, at {rate:,.0f} events/s)",
            longest / trigger,
            "<= 0.5x",
            longest <= 0.5 * trigger,
        ),
    ]


if __name__ == "__main__":
    raise SystemExit(main())

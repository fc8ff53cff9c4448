"""questlog's stream against a real peer on the same machine: Apache Iceberg's Kafka Connect
sink (``bench.sink``). Each lands the same Kafka backlog into typed tables of its own in the
same Hive Metastore, as a process of its own started for the run, committing as often:

* questlog: the streaming app, ``stream.py --available-now`` (what ``make up`` runs, told
  to stop once it has landed what Kafka holds), reading the backlog's topic;
* the sink: a standalone Kafka Connect worker, ``tasks.max`` one per core.

A run's time is from its process's start until the tables' committed snapshots hold every
event of the backlog (read from the tables' newest metadata file every half second), its CPU
the kernel's account of its processes (reaped: ``os.wait4``) plus what the broker and the
metastore used meanwhile (``/proc``, through psutil). Each table's count is checked against
the backlog's, so a run that lands too little or too much stops the benchmark.
"""

import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from questlog_catalog import load_catalog
from questlog_settings import SparkSettings, env_name
from questlog_settings.sections import Lake
from questlog_spark.tables import ensure_tables

from bench import spark as bench_spark
from bench.ingest import free_port
from bench.sink import ConnectWorker, SinkRun
from questlog.settings import Settings
from questlog.stack import supervisor
from questlog.stack.spark import spark_environment, spark_submit_command

CATALOG = load_catalog()
# The tables a run lands rows in, by event type.
TABLES = {t.name: t.table for t in CATALOG.values()}
POLL_SECONDS = 0.5
# What each round runs, in turn.
ENGINES = ("questlog", "sink")


@dataclass(frozen=True)
class Landing:
    """One engine's run over the backlog."""

    engine: str
    rows: int
    seconds: float  # from its start until every row was in a committed snapshot
    cpu_seconds: float  # its processes', the broker's and the metastore's meanwhile

    @property
    def rate(self) -> float:
        return self.rows / self.seconds

    @property
    def cpu_per_million(self) -> float:
        return self.cpu_seconds / self.rows * 1_000_000

    def __str__(self) -> str:
        return (
            f"{self.engine} {self.seconds:.1f} s ({self.rate:,.0f} rows/s, "
            f"{self.cpu_per_million:,.0f} CPU s per million)"
        )


class Child:
    """A process the benchmark starts, whose CPU (with its children's) it reads as the
    kernel reaps it."""

    def __init__(self, command: list[str], log_path: Path, env: dict[str, str] | None) -> None:
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.popen = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
            )
        self.rusage: resource.struct_rusage | None = None

    def exited(self, wait: bool = False) -> bool:
        if self.rusage is None:
            pid, status, rusage = os.wait4(self.popen.pid, 0 if wait else os.WNOHANG)
            if pid:
                self.popen.returncode = os.waitstatus_to_exitcode(status)
                self.rusage = rusage
        return self.rusage is not None

    def stop(self) -> float:
        """Its CPU seconds, once it has exited (asked to, when it has not)."""
        if not self.exited():
            self.popen.terminate()
            self.exited(wait=True)
        assert self.rusage is not None
        return float(self.rusage.ru_utime + self.rusage.ru_stime)

    def log_tail(self, lines: int = 25) -> str:
        return "".join(self.log_path.read_text(errors="replace").splitlines(True)[-lines:])


def committed_rows(lake: Path, table: str) -> int:
    """The rows of a table's current snapshot, from its newest metadata file (named by its
    sequence number); 0 while it has none, or while that file is being written."""
    newest = max((lake / table / "metadata").glob("*.metadata.json"), default=None)
    if newest is None:
        return 0
    try:
        metadata = json.loads(newest.read_text())
    except json.JSONDecodeError:
        return 0
    current = metadata.get("current-snapshot-id")
    for snapshot in metadata.get("snapshots", []):
        if snapshot["snapshot-id"] == current:
            return int(snapshot["summary"]["total-records"])
    return 0


def shared_cpu(settings: Settings) -> float:
    """CPU seconds the broker and the metastore have used so far (both engines use them)."""
    total = 0.0
    for name in ("kafka", "metastore"):
        process = supervisor.find(settings, name)
        if process is None:
            raise SystemExit(f"bench: the stack's {name} is not running")
        times = process.cpu_times()
        total += times.user + times.system
    return total


@dataclass(frozen=True)
class Target:
    """A database of typed tables an engine lands in, under a lake folder of its own."""

    database: str
    lake: Path

    @property
    def settings(self) -> SparkSettings:
        return SparkSettings(lake=Lake(database=self.database, root=self.lake.as_uri()))


def land(
    settings: Settings,
    engine: str,
    start: Callable[[], Child],
    target: Target,
    expected: Counter[str],
    timeout: float,
    fault: Callable[[], str | None] = lambda: None,
) -> Landing:
    """Run an engine until ``target``'s tables hold the ``expected`` rows of each type;
    ``fault`` tells of a failure that leaves its process running."""
    rows = sum(expected.values())
    cpu_before = shared_cpu(settings)
    started = time.monotonic()
    child = start()
    try:
        while True:
            landed = Counter({kind: committed_rows(target.lake, t) for kind, t in TABLES.items()})
            if landed.total() >= rows:
                seconds = time.monotonic() - started
                break
            if trace := fault():
                raise SystemExit(f"bench: {engine} failed ({child.log_path}):\n{trace}")
            if child.exited() or time.monotonic() - started > timeout:
                raise SystemExit(
                    f"bench: {engine} landed {landed.total()} of {rows} rows in "
                    f"{time.monotonic() - started:.0f} s"
                    f"{' and exited' if child.exited() else ''}; the end of its log "
                    f"({child.log_path}):\n{child.log_tail()}"
                )
            time.sleep(POLL_SECONDS)
    finally:
        cpu = child.stop()
    if +landed != +expected:
        wrong = {kind: (landed[kind], expected[kind]) for kind in expected | landed}
        raise SystemExit(f"bench: {engine} landed (rows, expected) by type: {wrong}")
    return Landing(engine, rows, seconds, cpu + shared_cpu(settings) - cpu_before)


def questlog_stream(settings: Settings, topic: str, target: Target, log: Path) -> Child:
    """The streaming app, told to land the topic's backlog into ``target`` and stop."""
    env = {
        **spark_environment(settings),
        env_name("kafka", "events_topic"): topic,
        env_name("lake", "database"): target.database,
        env_name("lake", "root"): target.lake.as_uri(),
        env_name("lake", "checkpoint_root"): (target.lake / "checkpoints").as_uri(),
        env_name("lake", "maintenance_minutes"): "0",
        env_name("stream", "metrics_port"): str(free_port()),
    }
    return Child(spark_submit_command(settings, "stream", "--available-now"), log, env)


@dataclass(frozen=True)
class PeerRound:
    questlog: Landing
    sink: Landing


def bench_peer(
    settings: Settings, topic: str, expected: Counter[str], rounds: int
) -> list[PeerRound]:
    """Each engine in turn lands the backlog of ``topic`` (its events by type:
    ``expected``), ``rounds`` times, into new tables each time."""
    folder = Path(tempfile.mkdtemp(prefix="questlog-bench-peer-"))
    spark = bench_spark.session(settings, "questlog-bench-peer")
    timeout = max(300.0, sum(expected.values()) / 500)
    results = []
    try:
        for round_ in range(1, rounds + 1):
            landings = {}
            for engine in ENGINES:
                name = f"bench_peer_{engine}_{uuid.uuid4().hex[:6]}"
                target = Target(name, folder / name)
                ensure_tables(spark, target.settings, say=lambda _: None)
                log = supervisor.log_file(settings, f"bench-{engine}")
                if engine == "questlog":
                    start = partial(questlog_stream, settings, topic, target, log)
                    landings[engine] = land(settings, engine, start, target, expected, timeout)
                else:
                    run = SinkRun(
                        topic,
                        name,
                        target.lake.as_uri(),
                        list(CATALOG.values()),
                        settings.stream.trigger_seconds,
                        tasks=os.cpu_count() or 1,
                    )
                    worker = ConnectWorker(settings, run)
                    start = partial(Child, worker.command(), log, None)
                    try:
                        landings[engine] = land(
                            settings, engine, start, target, expected, timeout, worker.fault
                        )
                    finally:
                        worker.remove()
                bench_spark.drop_tables(spark, name)
            result = PeerRound(landings["questlog"], landings["sink"])
            print(f"  round {round_}: {result.questlog}; {result.sink}")
            results.append(result)
    finally:
        spark.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return results

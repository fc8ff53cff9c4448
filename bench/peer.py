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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


class Engine:
    """One engine's process landing a topic in ``target``'s tables: questlog's streaming app
    (told to stop once it has landed what Kafka holds, when ``drain``) or the sink, which
    commits every trigger interval of the stream's unless given ``commit_seconds``."""

    def __init__(
        self,
        settings: Settings,
        kind: str,
        topic: str,
        target: Target,
        drain: bool = True,
        commit_seconds: float | None = None,
    ) -> None:
        self.kind, self.topic, self.target = kind, topic, target
        self.log_path = supervisor.log_file(settings, f"bench-{kind}")
        self.worker: ConnectWorker | None = None
        if kind == "questlog":
            self.command = spark_submit_command(
                settings, "stream", *(["--available-now"] if drain else [])
            )
            self.env = stream_environment(settings, topic, target)
        else:
            run = SinkRun(
                topic,
                target.database,
                target.lake.as_uri(),
                list(CATALOG.values()),
                commit_seconds or settings.stream.trigger_seconds,
                tasks=os.cpu_count() or 1,
            )
            self.worker = ConnectWorker(settings, run)
            self.command, self.env = self.worker.command(), {}
        self.child: Child | None = None

    def start(self) -> None:
        self.child = Child(self.command, self.log_path, self.env)

    def landed(self) -> Counter[str]:
        """The rows of each event type in the tables' committed snapshots."""
        return Counter({kind: committed_rows(self.target.lake, t) for kind, t in TABLES.items()})

    def check(self, waiting: str) -> None:
        """Stop the benchmark, saying what it was ``waiting`` for, when the engine has
        exited or one of its tasks failed."""
        assert self.child is not None
        if self.worker is not None and (trace := self.worker.fault()):
            raise SystemExit(f"bench: {self.kind} failed ({self.log_path}):\n{trace}")
        if self.child.exited():
            raise SystemExit(
                f"bench: {self.kind} exited while {waiting}; the end of its log "
                f"({self.log_path}):\n{self.child.log_tail()}"
            )

    def stop(self) -> float:
        """Its CPU seconds."""
        assert self.child is not None
        try:
            return self.child.stop()
        finally:
            if self.worker is not None:
                self.worker.remove()


def land(settings: Settings, engine: Engine, expected: Counter[str], timeout: float) -> Landing:
    """Run an engine until its tables hold the ``expected`` rows of each type."""
    rows = sum(expected.values())
    cpu_before = shared_cpu(settings)
    started = time.monotonic()
    engine.start()
    try:
        while (landed := engine.landed()).total() < rows:
            waited = time.monotonic() - started
            engine.check(f"{landed.total()} of {rows} rows had landed, after {waited:.0f} s")
            if waited > timeout:
                raise SystemExit(
                    f"bench: {engine.kind} landed {landed.total()} of {rows} rows in "
                    f"{waited:.0f} s ({engine.log_path})"
                )
            time.sleep(POLL_SECONDS)
        seconds = time.monotonic() - started
    finally:
        cpu = engine.stop()
    if +landed != +expected:
        wrong = {kind: (landed[kind], expected[kind]) for kind in expected | landed}
        raise SystemExit(f"bench: {engine.kind} landed (rows, expected) by type: {wrong}")
    return Landing(engine.kind, rows, seconds, cpu + shared_cpu(settings) - cpu_before)


def stream_environment(settings: Settings, topic: str, target: Target) -> dict[str, str]:
    """The streaming app's settings for landing ``topic`` in ``target``."""
    return {
        **spark_environment(settings),
        env_name("kafka", "events_topic"): topic,
        env_name("lake", "database"): target.database,
        env_name("lake", "root"): target.lake.as_uri(),
        env_name("lake", "checkpoint_root"): (target.lake / "checkpoints").as_uri(),
        env_name("lake", "maintenance_minutes"): "0",
        env_name("stream", "metrics_port"): str(free_port()),
    }


@contextmanager
def targets(settings: Settings, name: str) -> Iterator[Callable[[str], Target]]:
    """A function making a new target of typed tables (named after an engine) while in
    ``with``; they are dropped at its end."""
    folder = Path(tempfile.mkdtemp(prefix=f"questlog-{name}-"))
    spark = bench_spark.session(settings, f"questlog-{name}")
    made: list[Target] = []

    def target(engine: str) -> Target:
        database = f"{name.replace('-', '_')}_{engine}_{uuid.uuid4().hex[:6]}"
        made.append(Target(database, folder / database))
        ensure_tables(spark, made[-1].settings, say=lambda _: None)
        return made[-1]

    try:
        yield target
    finally:
        for each in made:
            bench_spark.drop_tables(spark, each.database)
        spark.stop()
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class PeerRound:
    questlog: Landing
    sink: Landing


def bench_peer(
    settings: Settings,
    topic: str,
    expected: Counter[str],
    rounds: int,
    target: Callable[[str], Target],
) -> list[PeerRound]:
    """Each engine in turn lands the backlog of ``topic`` (its events by type:
    ``expected``), ``rounds`` times, into new tables each time (made by ``target``)."""
    timeout = max(300.0, sum(expected.values()) / 500)
    results = []
    for round_ in range(1, rounds + 1):
        questlog, sink = (
            land(settings, Engine(settings, kind, topic, target(kind)), expected, timeout)
            for kind in ENGINES
        )
        result = PeerRound(questlog, sink)
        print(f"  round {round_}: {result.questlog}; {result.sink}")
        results.append(result)
    return results

"""The streaming app under continuous load: killed with SIGKILL in the middle of a
micro-batch and started again, it loses and doubles nothing; maintenance rewrites a
partition's files while queries run and the stream keeps committing, and no query sees a
row missing or twice; a micro-batch run again commits only to the tables it had not."""

import contextlib
import json
import random
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import httpx
import psutil
from pyspark.sql import DataFrame, SparkSession
from questlog_catalog import load_catalog
from questlog_settings import SparkSettings
from questlog_spark.stream import BatchCommitter
from questlog_spark.tables import ensure_tables

from questlog.settings import Settings
from questlog.stack import lifecycle, supervisor
from questlog.stack.spark import spark_submit
from questlog.traffic import event_headers, sample_events
from tests.helpers import Trino, eventually, unique

TABLES = sorted({t.table for t in load_catalog().values()})


class Load:
    """Posts batches of sample events to the ingest API from a thread, sent with its own
    User-Agent, and keeps the ids of every accepted event."""

    def __init__(self, stack: Settings, event_types: list[str] | None = None) -> None:
        self.url = f"{stack.api.url}/v1/events"
        self.agent = unique("load")
        self.event_types = event_types
        self.accepted: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        rng = random.Random(11)
        with httpx.Client(headers=event_headers(self.agent), timeout=30) as client:
            while not self._stop.is_set():
                events = sample_events(50, rng)
                if self.event_types:
                    events = [e for e in events if e["event_type"] in self.event_types]
                response = client.post(self.url, json={"events": events})
                if response.status_code == 202:
                    self.accepted += [a["event_id"] for a in response.json()["accepted"]]
                time.sleep(0.05)

    def __enter__(self) -> "Load":
        self._thread.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


def landed_sql(agent: str, tables: list[str] = TABLES) -> str:
    union = " UNION ALL ".join(
        f"SELECT event_id FROM hive.default.{t} WHERE user_agent = '{agent}'" for t in tables
    )
    return f"SELECT count(*), count(DISTINCT event_id) FROM ({union})"


def written_since(lake: Path, started: float) -> bool:
    """Whether a table of the lake has a data file newer than `started`: a micro-batch of the
    stream started then is writing its tables (and may have committed some of them)."""
    try:
        return any(p.stat().st_mtime > started for p in lake.glob("*/data/*/*.parquet"))
    except FileNotFoundError:  # a file removed while we list (an aborted write's)
        return False


def kill_stream_mid_batch(stack: Settings, timeout: float = 120) -> None:
    """SIGKILL the streaming app (its JVM and Python workers) as soon as a micro-batch of this
    process has written a data file, before it has finished committing its tables."""
    process = supervisor.find(stack, "stream")
    assert process is not None, "the streaming app is not running"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if written_since(stack.lake.dir, process.create_time()):
            for victim in [*process.children(recursive=True), process]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    victim.send_signal(signal.SIGKILL)
            psutil.wait_procs([process], timeout=30)
            return
        time.sleep(0.01)
    raise AssertionError(f"no micro-batch was in flight within {timeout} s")


def test_killed_twice_mid_batch_it_loses_and_doubles_nothing(stack: Settings, trino: Trino) -> None:
    with Load(stack) as load:
        for _ in range(2):
            kill_stream_mid_batch(stack)
            assert supervisor.find(stack, "stream") is None
            lifecycle.up(stack)  # starts the stream again, waits until its query runs
            time.sleep(5)
    accepted = len(load.accepted)
    assert accepted > 1000 and len(set(load.accepted)) == accepted
    eventually(trino, landed_sql(load.agent), [[accepted, accepted]], timeout=300)


def test_compaction_under_load_never_shows_a_row_missing_or_twice(
    stack: Settings, trino: Trino
) -> None:
    # A fixed set of swords, then more swords from a load while compaction runs.
    # Long enough for the stream to commit several files to today's partition.
    started = time.monotonic()
    with Load(stack, ["purchase_sword"]) as fixed:
        while len(fixed.accepted) < 500 or time.monotonic() - started < 45:
            time.sleep(0.2)
    expected = [[len(fixed.accepted), len(fixed.accepted)]]
    query = landed_sql(fixed.agent, ["sword_purchases"])
    eventually(trino, query, expected)
    today = datetime.now(UTC).date().isoformat()
    paths = (
        'SELECT DISTINCT "$path" FROM hive.default.sword_purchases '
        f"WHERE event_date = DATE '{today}'"
    )
    files_before = {row[0] for row in trino(paths)}

    answers: list[list[list[object]]] = []
    done = threading.Event()

    def read_while_compacting() -> None:
        while not done.is_set():
            answers.append(trino(query))

    reader = threading.Thread(target=read_while_compacting, daemon=True)
    with Load(stack, ["purchase_sword"]):
        reader.start()
        spark_submit(stack, "compact", "--table=sword_purchases", f"--date={today}")
        time.sleep(3)  # a few reads after the swap
        done.set()
        reader.join(timeout=60)
    assert len(answers) >= 3
    assert all(answer == expected for answer in answers), {str(a) for a in answers}
    assert len(files_before) >= 4
    # Right after the rewrite's commit: the compacted file, plus what the stream committed
    # while the rewrite ran; every file there before is gone.
    ((rewrite,),) = trino(
        'SELECT snapshot_id FROM iceberg.default."sword_purchases$snapshots" '
        "WHERE operation = 'replace' ORDER BY committed_at DESC LIMIT 1"
    )
    at_rewrite = {
        row[0] for row in trino(paths.replace("WHERE", f"FOR VERSION AS OF {rewrite} WHERE"))
    }
    assert not files_before & at_rewrite
    assert len(at_rewrite) < len(files_before)


def kafka_records(spark: SparkSession, events: list[dict[str, object]]) -> DataFrame:
    """Records as the stream's foreachBatch gets them (after deduplication)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        ("events", 0, offset, now, json.dumps(event), str(event["event_id"]))
        for offset, event in enumerate(events)
    ]
    schema = "topic string, partition int, offset long, timestamp timestamp, value string, "
    return spark.createDataFrame(rows, schema + "dedup_key string")


def test_a_batch_run_again_commits_only_to_the_tables_it_had_not(
    spark: SparkSession, tmp_path: Path
) -> None:
    settings = SparkSettings(
        lake={"database": unique("retry"), "root": (tmp_path / "lake").as_uri()}
    )
    ensure_tables(spark, settings, say=lambda _: None)
    checkpoint = (tmp_path / "checkpoint").as_uri()
    now = datetime.now(UTC).isoformat()
    envelope = {"occurred_at": now, "received_at": now, "user_id": "player-1"}
    join = {**envelope, "event_id": "j-1", "event_type": "join_guild", "guild": "Iron Legion"}
    sword = {
        **envelope,
        "event_id": "s-1",
        "event_type": "purchase_sword",
        "sword_type": "katana",
        "sword_cost": 300,
        "strength": 5.0,
    }
    # The attempt that was killed had committed batch 7 to guild_joins only.
    BatchCommitter(spark, settings, checkpoint)(kafka_records(spark, [join]), 7)
    # Started again, Spark runs batch 7 again with all its records, then batch 8.
    committer = BatchCommitter(spark, settings, checkpoint)
    committer(kafka_records(spark, [join, sword]), 7)
    committer(kafka_records(spark, [join]), 8)  # (a repeat Spark's dedup would have dropped)

    def batches(table: str) -> list[str]:
        rows = spark.sql(
            f"SELECT summary['questlog.batch-id'] "
            f"FROM `{settings.lake.database}`.`{table}`.snapshots "
            "ORDER BY committed_at"
        )
        return [row[0] for row in rows.collect()]

    assert batches("guild_joins") == ["7", "8"]
    assert batches("sword_purchases") == ["7"]
    count = f"SELECT count(*) FROM `{settings.lake.database}`.`{{}}`"
    assert spark.sql(count.format("guild_joins")).first() == (2,)
    assert spark.sql(count.format("sword_purchases")).first() == (1,)

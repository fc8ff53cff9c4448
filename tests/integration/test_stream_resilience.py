"""The streaming app under continuous load: killed with SIGKILL in the middle of a
micro-batch and started again, it loses and doubles nothing; compaction swaps a partition's
files while queries run and the stream keeps committing, and no query sees a row missing
or twice."""

import contextlib
import random
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import httpx
import psutil

from questlog.catalog import load_catalog
from questlog.settings import StackSettings
from questlog.stack import lifecycle, supervisor
from questlog.stack.spark import spark_submit
from questlog.traffic import sample_events
from tests.helpers import Trino, eventually, unique

TABLES = sorted({t.table for t in load_catalog().values()})


class Load:
    """Posts batches of sample events to the ingest API from a thread, sent with its own
    User-Agent, and keeps the ids of every accepted event."""

    def __init__(self, stack: StackSettings, event_types: list[str] | None = None) -> None:
        self.url = f"{stack.api_url}/v1/events"
        self.agent = unique("load")
        self.event_types = event_types
        self.accepted: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        rng = random.Random(11)
        with httpx.Client(headers={"User-Agent": self.agent}, timeout=30) as client:
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


def staged_since(staging: Path, started: float) -> bool:
    """Whether a batch folder holds a file newer than `started` (one a killed run left behind
    is older). The stream removes a folder once it commits, possibly while we list it."""
    try:
        return any(p.stat().st_mtime > started for p in staging.glob("batch-*/*"))
    except FileNotFoundError:
        return False


def kill_stream_mid_batch(stack: StackSettings, timeout: float = 120) -> None:
    """SIGKILL the streaming app (its JVM and Python workers) while a micro-batch of this
    process has staged files and not finished committing them."""
    process = supervisor.find(stack, "stream")
    assert process is not None, "the streaming app is not running"
    staging = stack.lake_dir / "_staging"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if staged_since(staging, process.create_time()):
            for victim in [*process.children(recursive=True), process]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    victim.send_signal(signal.SIGKILL)
            psutil.wait_procs([process], timeout=30)
            return
        time.sleep(0.01)
    raise AssertionError(f"no micro-batch was in flight within {timeout} s")


def test_killed_twice_mid_batch_it_loses_and_doubles_nothing(
    stack: StackSettings, trino: Trino
) -> None:
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
    stack: StackSettings, trino: Trino
) -> None:
    # A fixed set of swords, then more swords from a load while compaction runs.
    with Load(stack, ["purchase_sword"]) as fixed:
        while len(fixed.accepted) < 500:
            time.sleep(0.2)
    expected = [[len(fixed.accepted), len(fixed.accepted)]]
    query = landed_sql(fixed.agent, ["sword_purchases"])
    eventually(trino, query, expected)
    today = datetime.now(UTC).date().isoformat()
    paths = (
        'SELECT count(DISTINCT "$path") FROM hive.default.sword_purchases '
        f"WHERE event_date = DATE '{today}'"
    )
    (files_before,) = trino(paths)[0]

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
    (files_after,) = trino(paths)[0]
    assert int(str(files_before)) >= 2
    # The compacted file, plus what the load committed after the rewrite began.
    assert int(str(files_after)) < int(str(files_before))

"""The benchmark harness, so that it cannot rot: ``make bench``'s own command in its quick
mode against the stack, as a user runs it after ``make up`` (no write key given: it finds
the stack's), every part end to end in seconds, each response it relies on checked."""

import os
import subprocess
import sys

from questlog.settings import REPO_ROOT, Settings
from questlog.stack.write_key import ENV

# A figure of each part, as the table names it.
PARTS = (
    "ingest: events/s, game route vs seed app",
    "ingest: keyed p99, unauthenticated flood vs alone",
    "stream: drain, native parse vs UDF filter",
    "stream vs Kafka Connect's Iceberg sink: drain",
    "stream vs Kafka Connect's Iceberg sink: CPU s per million events landed",
    "stream vs Kafka Connect's Iceberg sink: sustainable throughput",
    "stream: p95 202 -> visible in Trino, vs trigger",
    "query: Trino vs DuckDB, group-by",
    "micro-batch commits vs maintained",
)
KEPT = [REPO_ROOT / "reports" / name for name in ("bench.md", "bench.png")]


def test_every_part_of_make_bench_runs_end_to_end_in_its_quick_mode(stack: Settings) -> None:
    before = {path: path.stat().st_mtime if path.exists() else None for path in KEPT}
    environment = {name: value for name, value in os.environ.items() if name != ENV}
    ran = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert ran.returncode == 0, f"{ran.stdout[-4000:]}\n{ran.stderr[-4000:]}"
    table = ran.stdout.rsplit("| figure |", 1)[-1]
    assert [part for part in PARTS if part not in table] == [], ran.stdout[-4000:]
    after = {path: path.stat().st_mtime if path.exists() else None for path in KEPT}
    assert after == before, "a quick run keeps no figures"

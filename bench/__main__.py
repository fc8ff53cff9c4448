"""``make bench``: every benchmark the project reports, in one run on one machine, and
one table of their figures (each a ratio measured side by side within that run).

1. the ingest API against the course's game API, a no-op route, and itself batched
   (``bench.ingest``);
2. a keyed client's p99 during an unauthenticated flood against alone (``bench.flood``);
3. the stream: draining a backlog against the course's UDF filter, freshness and batch
   durations against the trigger interval (``bench.lake``);
4. queries: Trino against DuckDB on the same Parquet, and an hour of micro-batch files
   against the same rows compacted (``bench.query``).

The table goes to ``reports/bench.md`` and a chart of the ratios to ``reports/bench.png``.
"""

import argparse
import os
import platform
import time
from datetime import UTC, datetime
from types import ModuleType

from bench import flood, ingest, lake, query
from bench.figures import Figure, add_quick, chart, markdown, quickened, write_table
from questlog.settings import REPO_ROOT

PARTS: list[tuple[str, ModuleType]] = [
    ("the ingest API", ingest),
    ("the ingest API under a flood", flood),
    ("the stream", lake),
    ("queries on the lake", query),
]
REPORT = REPO_ROOT / "reports" / "bench.md"
CHART = REPO_ROOT / "reports" / "bench.png"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    for _, part in PARTS:
        part.add_arguments(parser)
    add_quick(parser)
    args = parser.parse_args(argv)
    started = time.monotonic()
    figures: list[Figure] = []
    timings = []
    for number, (name, part) in enumerate(PARTS, 1):
        print(f"\n=== {number}/{len(PARTS)}: {name} ({time.monotonic() - started:.0f} s so far)")
        part_started = time.monotonic()
        found = part.run(quickened(args, part.QUICK))
        timings.append(f"{name} {time.monotonic() - part_started:.0f} s")
        print("\n" + markdown(found))
        figures += found
    minutes = (time.monotonic() - started) / 60
    preface = (
        f"`make bench`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores "
        f"({platform.machine()}), {minutes:.1f} min ({', '.join(timings)}); every ratio is "
        "measured side by side within this run."
    )
    print(f"\n{preface}")
    if args.quick:
        print("\n" + markdown(figures) + "\n\n(--quick: these figures mean nothing; none kept)")
        return 0
    write_table(figures, REPORT, preface)
    chart(figures, CHART, "questlog benchmarks: ratios measured side by side")
    print(f"(chart: {CHART})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Running the ``hey`` load generator and reading its report."""

import math
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from questlog.settings import get_settings


def binary() -> Path:
    """Where ``make bench`` installs hey: the download cache's Go tools."""
    found = get_settings().cache_dir / "tools" / "go" / "bin" / "hey"
    if not found.exists():
        raise SystemExit(f"bench: {found} is missing; `make bench` installs it")
    return found


@dataclass(frozen=True)
class LoadResult:
    requests_per_second: float
    p99_seconds: float
    statuses: dict[int, int]

    def rate_of(self, status: int) -> float:
        """Requests per second answered with ``status``."""
        total = sum(self.statuses.values())
        return self.requests_per_second * self.statuses.get(status, 0) / total if total else 0.0


def parse(report: str) -> LoadResult:
    """A report's figures; its p99 is NaN when hey printed none (with few responses, hey
    prints its 99th percentile as "0% in 0.0000 secs")."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", report)
    p99 = re.search(r"99% in ([\d.]+) secs", report)
    statuses = {
        int(code): int(n) for code, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", report)
    }
    if rate is None or not statuses:
        raise ValueError(f"not a hey report:\n{report}")
    return LoadResult(float(rate.group(1)), float(p99.group(1)) if p99 else math.nan, statuses)


def command(
    hey: Path,
    url: str,
    seconds: float,
    concurrency: int,
    body: Path | None = None,
    headers: dict[str, str] | None = None,
    per_connection_rate: float | None = None,
) -> list[str]:
    """The hey command line of a load; ``per_connection_rate`` caps each connection's
    requests per second (unbounded by default)."""
    line = [str(hey), "-z", f"{seconds}s", "-c", str(concurrency)]
    if per_connection_rate is not None:
        line += ["-q", f"{per_connection_rate:g}"]
    for name, value in (headers or {}).items():
        line += ["-H", f"{name}: {value}"]
    if body is not None:
        line += ["-m", "POST", "-T", "application/json", "-D", str(body)]
    return [*line, url]


def run(command_line: list[str]) -> LoadResult:
    """Run a load (``command(...)``) and read its report."""
    completed = subprocess.run(command_line, capture_output=True, text=True, check=True)
    return parse(completed.stdout)

"""``make load``: a headless Locust run against the local stack, then the reckoning.

Locust (``loadtest/locustfile.py`` with a shape from ``loadtest/shapes/``) plays the game
against the ingest API and checks its thresholds when it quits. Meanwhile the Locust
process's CPU is sampled, since a load generator that saturates its core measures itself.
Afterwards every event the API accepted must be found in Trino, once: the run's events
are told apart by their User-Agent. CSV, HTML and a summary go to ``reports/load/``.
"""

import json
import os
import statistics
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil

from questlog.settings import REPO_ROOT, Settings
from questlog.stack import lifecycle
from questlog.stack.install import Say
from questlog.stack.probes import trino_query
from questlog.traffic import landed_sql, wait_until_landed

LOADTEST = REPO_ROOT / "loadtest"
SHAPES = sorted(path.stem for path in (LOADTEST / "shapes").glob("*.py"))
# The Locust process must leave headroom: above this share of one core it is the bottleneck.
MAX_LOCUST_CPU = 70.0
CPU_SAMPLE_SECONDS = 5.0


@dataclass(frozen=True)
class LoadResult:
    run: str
    requests: int
    failures: int
    p95_ms: float
    accepted: int
    landed: int
    thresholds_failed: list[str]
    locust_cpu_mean: float
    locust_cpu_max: float
    report_dir: Path

    @property
    def problems(self) -> list[str]:
        problems = list(self.thresholds_failed)
        if self.locust_cpu_max > MAX_LOCUST_CPU:
            problems.append(f"Locust used {self.locust_cpu_max:.0f} % of a core")
        if self.landed != self.accepted:
            problems.append(f"{self.landed} events in Trino for {self.accepted} accepted")
        return problems


def run_locust(
    settings: Settings,
    shape: str,
    users: int,
    seconds: float,
    report_dir: Path,
    run: str,
    extra_env: dict[str, str],
) -> tuple[dict[str, object], list[float]]:
    """Run Locust headless to its end; its summary and the CPU samples of its process."""
    summary_file = report_dir / f"{run}-summary.json"
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        f"{LOADTEST / 'locustfile.py'},{LOADTEST / 'shapes' / f'{shape}.py'}",
        "--headless",
        "--host",
        settings.api.url,
        "--csv",
        str(report_dir / run),
        "--html",
        str(report_dir / f"{run}.html"),
        "--only-summary",
        "--stop-timeout",
        "10",
    ]
    env = {
        **os.environ,
        "QUESTLOG__LOAD__RUN": run,
        "QUESTLOG__LOAD__USERS": str(users),
        "QUESTLOG__LOAD__SECONDS": str(seconds),
        "QUESTLOG__LOAD__SUMMARY": str(summary_file),
        # The locustfile imports questlog and questlog_ingest from the repository.
        "PYTHONPATH": f"{REPO_ROOT}:{REPO_ROOT / 'services' / 'ingest'}",
        **extra_env,
    }
    process = subprocess.Popen(command, env=env, cwd=REPO_ROOT)
    locust = psutil.Process(process.pid)
    samples = []
    while process.poll() is None:
        try:
            samples.append(locust.cpu_percent(interval=CPU_SAMPLE_SECONDS))
        except psutil.NoSuchProcess:
            break
    process.wait()
    if not summary_file.exists():
        raise lifecycle.StackError(f"Locust ended ({process.returncode}) without its summary")
    summary: dict[str, object] = json.loads(summary_file.read_text())
    # The first sample spans Locust's start-up, not the load.
    return summary, samples[1:] or samples


def run_landed(settings: Settings, agent_prefix: str) -> int:
    """How many of the run's events Trino returns."""
    sql = landed_sql(agent_prefix, prefix=True)
    (row,) = trino_query(settings.host, settings.trino.port, sql, timeout=60)
    return int(str(row[0]))


def run(
    settings: Settings,
    say: Say,
    shape: str = "ramp",
    users: int = 50,
    seconds: float = 120,
    landing_timeout: float = 300,
    extra_env: dict[str, str] | None = None,
) -> LoadResult:
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; the shapes are {', '.join(SHAPES)}")
    lifecycle.up(settings, say)
    report_dir = settings.report_dir / "load"
    report_dir.mkdir(parents=True, exist_ok=True)
    run_id = uuid.uuid4().hex[:12]
    say(f"\nLocust run {run_id}: shape {shape}, {users} users, {seconds:.0f} s ...")
    summary, cpu = run_locust(settings, shape, users, seconds, report_dir, run_id, extra_env or {})
    accepted_by_client = summary["accepted"]
    assert isinstance(accepted_by_client, dict)
    accepted = sum(int(n) for n in accepted_by_client.values())
    say(f"The API accepted {accepted} events ({accepted_by_client}); reconciling in Trino ...")
    landed, _ = wait_until_landed(
        lambda: run_landed(settings, str(summary["agent_prefix"])),
        accepted,
        landing_timeout,
        poll=3,
        progress=lambda seen, _: say(
            f"  {seen}/{accepted} of the run's events visible in Trino ..."
        ),
    )
    thresholds = summary["thresholds_failed"]
    assert isinstance(thresholds, list)
    result = LoadResult(
        run=run_id,
        requests=int(str(summary["requests"])),
        failures=int(str(summary["failures"])),
        p95_ms=float(str(summary["p95_ms"])),
        accepted=accepted,
        landed=landed,
        thresholds_failed=[str(reason) for reason in thresholds],
        locust_cpu_mean=statistics.fmean(cpu) if cpu else 0.0,
        locust_cpu_max=max(cpu, default=0.0),
        report_dir=report_dir,
    )
    for line in format_result(result):
        say(line)
    return result


def format_result(result: LoadResult) -> list[str]:
    return [
        "",
        f"requests          {result.requests} ({result.failures} failed), "
        f"p95 {result.p95_ms:.0f} ms",
        f"Locust CPU        mean {result.locust_cpu_mean:.0f} %, max {result.locust_cpu_max:.0f} % "
        f"of a core ({CPU_SAMPLE_SECONDS:.0f} s samples; limit {MAX_LOCUST_CPU:.0f} %)",
        f"reconciliation    {result.accepted} accepted, {result.landed} in Trino",
        f"reports           {result.report_dir}/{result.run}*",
        "PASSED" if not result.problems else "FAILED: " + "; ".join(result.problems),
    ]

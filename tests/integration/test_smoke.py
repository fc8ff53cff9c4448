"""The Helm test hooks' checks, run against the local stack exactly as the hooks run them
in the cluster (``python -m questlog.smoke``, ``python -m questlog.metrics_text``)."""

import subprocess
import sys

from questlog.canary import probe
from questlog.settings import Settings


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, timeout=600
    )


def test_pipeline_smoke_check_sees_every_event_in_trino(stack: Settings) -> None:
    result = run_module(
        "questlog.smoke",
        f"--api={stack.api.url}",
        f"--trino={stack.trino.url}",
        "--events=120",
        "--timeout=300",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The pilot registry answers: " in result.stdout
    assert "questlog_events_accepted_total moved by 120" in result.stdout
    assert "OK: Trino returns all 120 events" in result.stdout


def test_smoke_check_fails_when_trino_does_not_answer(stack: Settings) -> None:
    result = run_module(
        "questlog.smoke", f"--api={stack.api.url}", "--trino=http://127.0.0.1:9", "--events=5"
    )
    assert result.returncode == 1
    assert "FAILED" in result.stderr


def test_stream_hook_check_reads_the_query_state(stack: Settings) -> None:
    url = f"http://{stack.host}:{stack.stream.metrics_port}/metrics"
    active = run_module(
        "questlog.metrics_text",
        f"--url={url}",
        "--metric=questlog_stream_query_active",
        "--equals=1",
        "--timeout=60",
    )
    assert active.returncode == 0, active.stdout + active.stderr
    never = run_module(
        "questlog.metrics_text",
        f"--url={url}",
        "--metric=questlog_stream_query_active",
        "--equals=7",
        "--timeout=1",
    )
    assert never.returncode == 1
    assert "is 1, not 7" in never.stderr


def test_a_canary_is_found_in_trino_and_timed(stack: Settings) -> None:
    seconds = probe(stack.api.url, stack.trino.url, timeout=120, poll=1)
    assert seconds is not None and 0 < seconds < 120

"""Locust against the local stack (`make load`, shorter): the scenarios pass their
thresholds, the load generator leaves itself headroom, and every event the API accepted
is in Trino once. A threshold that cannot be met fails the run."""

from pathlib import Path

from questlog import load
from questlog.settings import Settings


def test_load_run_passes_its_thresholds_and_reconciles(stack: Settings) -> None:
    result = load.run(stack, print, shape="ramp", users=20, seconds=40)
    assert result.requests > 100
    assert result.accepted > result.requests, "batches carry 100 events each"
    assert result.landed == result.accepted
    assert not result.problems, result.problems
    assert (result.report_dir / f"{result.run}_stats.csv").exists()
    assert Path(result.report_dir / f"{result.run}.html").stat().st_size > 0


def test_a_threshold_the_run_misses_fails_it(stack: Settings) -> None:
    result = load.run(
        stack,
        print,
        shape="spike",
        users=4,
        seconds=10,
        extra_env={"QUESTLOG__LOAD__MAX_P95_MS": "0.001"},
    )
    assert any("p95" in reason for reason in result.thresholds_failed)
    assert result.problems
    assert result.landed == result.accepted

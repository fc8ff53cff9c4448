"""The maintenance job's command line: what it refuses, before it starts Spark, and that it
agrees with the chart that schedules it on Kubernetes."""

import argparse
import json

import pytest
from questlog_spark import compact
from questlog_spark.compact_options import ORPHAN_HOURS_FLOOR, add_options

from questlog.settings import REPO_ROOT


def charts_orphan_floor() -> float:
    """The least ``maintenance.orphanHours`` helm/questlog-stream accepts."""
    schema = json.loads((REPO_ROOT / "helm/questlog-stream/values.schema.json").read_text())
    return float(schema["properties"]["maintenance"]["properties"]["orphanHours"]["minimum"])


class NoSpark:
    def __getattr__(self, name: str) -> None:
        raise AssertionError("the job started Spark")


def test_the_job_refuses_an_orphan_age_below_the_charts_floor_before_spark(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(compact, "SparkSession", NoSpark())
    with pytest.raises(SystemExit) as exited:
        compact.main([f"--orphan-hours={charts_orphan_floor() - 0.5}"])
    assert exited.value.code == 2
    refused = capsys.readouterr().err
    assert "--orphan-hours" in refused and "24 h" in refused and "commit in flight" in refused


def test_the_jobs_floor_is_the_charts_and_itself_accepted() -> None:
    floor = charts_orphan_floor()
    assert floor == ORPHAN_HOURS_FLOOR
    parsed = add_options(argparse.ArgumentParser()).parse_args([f"--orphan-hours={floor}"])
    assert parsed.orphan_hours == floor

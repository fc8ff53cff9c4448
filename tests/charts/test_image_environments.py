"""The images' Python environments, built as their Dockerfiles build them (`uv sync` of the
lock with the image's extra), run what the charts run in them: the Helm test hooks' checks
and the Spark apps (with only pyspark and py4j added, which the Spark image provides)."""

import os
import subprocess
from pathlib import Path

import pyspark
import pytest

from questlog.settings import REPO_ROOT
from tests.charts.conftest import tool


def environment(tmp_path: Path, *extras: str) -> Path:
    env = tmp_path / f"env-{'-'.join(extras)}"
    options = [option for extra in extras for option in ("--extra", extra)]
    subprocess.run(
        [tool("uv"), "sync", "--quiet", "--frozen", "--no-dev", *options, "--no-editable"],
        check=True,
        cwd=REPO_ROOT,
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(env)},
    )
    return env / "bin" / "python"


def run(python: Path, *args: str, pythonpath: str = "") -> subprocess.CompletedProcess[str]:
    # Outside the repository, so only the installed packages are importable.
    return subprocess.run(
        [str(python), *args],
        capture_output=True,
        text=True,
        cwd="/",
        env={"PYTHONPATH": pythonpath, "PATH": "/usr/bin:/bin"},
    )


def test_api_image_runs_the_smoke_check(tmp_path: Path) -> None:
    python = environment(tmp_path, "api")
    result = run(python, "-m", "questlog.smoke", "--help")
    assert result.returncode == 0, result.stderr
    assert "--trino" in result.stdout


@pytest.mark.parametrize("app", ["stream", "tables"])
def test_spark_image_imports_the_apps_with_sparks_own_pyspark(tmp_path: Path, app: str) -> None:
    python = environment(tmp_path, "spark")
    spark_python = tmp_path / "spark-python"
    spark_python.mkdir()
    for package in ("pyspark", "py4j"):
        source = Path(pyspark.__file__).parents[1] / package
        (spark_python / package).symlink_to(source)
    imported = run(python, "-c", f"import questlog_spark.{app}", pythonpath=str(spark_python))
    assert imported.returncode == 0, imported.stderr
    hook = run(python, "-m", "questlog.metrics_text", "--help")
    assert hook.returncode == 0, hook.stderr
    assert run(python, "-c", "import pyspark").returncode != 0, "pyspark comes from the image"


def test_loadtest_image_loads_the_scenarios(tmp_path: Path) -> None:
    python = environment(tmp_path, "api", "load")
    shape = REPO_ROOT / "loadtest" / "shapes" / "ramp.py"
    listed = run(
        python,
        "-m",
        "locust",
        "-f",
        f"{REPO_ROOT / 'loadtest' / 'locustfile.py'},{shape}",
        "--list",
    )
    assert listed.returncode == 0, listed.stderr
    assert {"Player", "BatchClient", "ApacheBench"} <= set(listed.stdout.split())

"""questlog's alert rules, tested with promtool (Prometheus' own rule unit tests:
tests/prometheus/rules_test.yml), and every metric the rules and the dashboard read is one
the API, the registry, the stream or the canary exports."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from questlog.settings import REPO_ROOT
from questlog.stack.components import Prometheus

RULES_TEST = REPO_ROOT / "tests" / "prometheus" / "rules_test.yml"
DASHBOARD = REPO_ROOT / "helm" / "questlog" / "files" / "questlog-dashboard.json"
METRIC_SOURCES = [
    REPO_ROOT / "services" / "ingest" / "questlog_ingest" / "metrics.py",
    REPO_ROOT / "services" / "registry" / "questlog_registry" / "metrics.py",
    REPO_ROOT / "spark-apps" / "questlog_spark" / "stream_metrics.py",
    REPO_ROOT / "questlog" / "canary.py",
]


def promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        pytest.fail("promtool was not found; `make setup` installs the prometheus package")
    return found


def test_rules_are_valid_and_pass_their_unit_tests() -> None:
    check = subprocess.run(
        [promtool(), "check", "rules", str(Prometheus.RULES)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    result = subprocess.run(
        [promtool(), "test", "rules", str(RULES_TEST)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_every_alert_has_a_unit_test() -> None:
    rules = yaml.safe_load(Prometheus.RULES.read_text())
    alerts = {
        rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule
    }
    tests = yaml.safe_load(RULES_TEST.read_text())["tests"]
    tested = {case["alertname"] for test in tests for case in test["alert_rule_test"]}
    assert alerts == tested


def exported_metrics() -> set[str]:
    """Names of the series the services export (a histogram's three each)."""
    names: set[str] = set()
    for source in METRIC_SOURCES:
        text = source.read_text()
        for kind, name in re.findall(r'(Counter|Gauge|Histogram)\(\s*"(questlog_\w+)"', text):
            if kind == "Histogram":
                names |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
            else:
                names.add(name)
    return names


def queried_metrics(text: str) -> set[str]:
    return {name for name in re.findall(r"\b(questlog_[a-z_]+)", text)}


@pytest.mark.parametrize("source", [Prometheus.RULES, DASHBOARD], ids=lambda p: Path(p).name)
def test_queries_read_only_exported_metrics(source: Path) -> None:
    text = source.read_text()
    if source.suffix == ".json":
        panels = json.loads(text)["panels"]
        text = " ".join(target["expr"] for panel in panels for target in panel["targets"])
    assert queried_metrics(text), "no questlog metric queried"
    assert queried_metrics(text) <= exported_metrics()

"""The local stack's Prometheus: it scrapes the ingest API, the pilot registry, the
streaming app and the freshness canary, and evaluates every questlog rule without error."""

import json
import time
import urllib.parse
import urllib.request
from typing import Any

import yaml

from questlog.settings import Settings
from questlog.stack.components import Prometheus


def api(stack: Settings, path: str, **params: str) -> Any:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    with urllib.request.urlopen(f"{stack.prometheus.url}/api/v1/{path}{query}", timeout=10) as r:
        answer = json.load(r)
    assert answer["status"] == "success", answer
    return answer["data"]


def eventually(check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def test_prometheus_scrapes_the_services_and_the_stream(stack: Settings) -> None:
    def targets_up() -> dict[str, str]:
        targets = api(stack, "targets")["activeTargets"]
        health = {t["labels"]["job"]: t["health"] for t in targets}
        assert health == {
            "questlog-api": "up",
            "questlog-registry": "up",
            "questlog-stream": "up",
            "questlog-canary": "up",
            "prometheus": "up",
        }
        return health

    eventually(targets_up)
    (sample,) = api(stack, "query", query="max(questlog_stream_query_active)")["result"]
    assert sample["value"][1] == "1"


def test_every_rule_evaluates_without_error(stack: Settings) -> None:
    def evaluated() -> list[dict[str, Any]]:
        groups = api(stack, "rules")["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        assert {g["name"] for g in groups} == {
            "questlog-ingest",
            "questlog-stream",
            "questlog-reconciliation",
        }
        assert all(rule.get("lastEvaluation", "0001").startswith("2") for rule in rules)
        return rules

    rules = eventually(evaluated)
    assert [r["name"] for r in rules if r["health"] != "ok"] == []
    shipped = yaml.safe_load(Prometheus.RULES.read_text())["groups"]
    assert len(rules) == sum(len(group["rules"]) for group in shipped)

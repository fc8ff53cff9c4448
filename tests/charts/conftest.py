"""Offline validation of the Helm charts: the tools `make chart-tools` builds (their paths
come from the Makefile's QUESTLOG_HELM, QUESTLOG_KUBECONFORM and QUESTLOG_CT), charts
rendered with `helm template`, and standalone Kubernetes schemas for kubeconform."""

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from questlog.settings import REPO_ROOT

HELM_DIR = REPO_ROOT / "helm"
# The Kubernetes version of kind's default node image (k8s/kind-config.yaml).
KUBE_VERSION = "1.37.0"
CRD_SCHEMAS = REPO_ROOT / "k8s" / "crd-schemas"
# Charts in dependency order: the library, the three deployables, the umbrella.
CHARTS = ["questlog-common", "questlog-api", "questlog-metastore", "questlog-stream", "questlog"]
DEPLOYABLE = CHARTS[1:]


def tool(name: str) -> str:
    path = os.environ.get(f"QUESTLOG_{name.upper()}", "")
    if not path or not Path(path).exists():
        pytest.fail(f"{name} was not found at {path!r}; `make chart-tools` builds it")
    return path


def run(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    # ct calls helm, and yamllint and yamale from the virtual environment.
    path = f"{Path(tool('helm')).parent}:{Path(sys.executable).parent}:{os.environ['PATH']}"
    env = {**os.environ, "PATH": path}
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def ci_values(chart: str) -> list[Path]:
    return sorted((HELM_DIR / chart / "ci").glob("*-values.yaml"))


@pytest.fixture(scope="session")
def built() -> None:
    """Subcharts packaged into each chart's charts/ folder (local file:// dependencies)."""
    for chart in CHARTS[1:]:
        run(tool("helm"), "dependency", "build", str(HELM_DIR / chart))


def template(chart: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    release = "questlog" if chart == "questlog" else chart
    return run(
        tool("helm"),
        "template",
        release,
        str(HELM_DIR / chart),
        "--namespace",
        "questlog",
        "--kube-version",
        KUBE_VERSION,
        *args,
        check=check,
    )


def documents(chart: str, *args: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(template(chart, *args).stdout) if doc]


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])] or [
        None
    ]
    assert found is not None, f"no {kind} {name or ''} rendered"
    return found


@pytest.fixture(scope="session")
def k8s_schemas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """kubernetes-validate's schemas for KUBE_VERSION made standalone (each with the
    definitions it refers to), laid out as kubeconform's default location expects."""
    source = (
        Path(kubernetes_validate.__file__).parent
        / "kubernetes-json-schema"
        / f"v{KUBE_VERSION}-local-strict"
    )
    definitions = json.loads((source / "_definitions.json").read_text())["$defs"]
    target = tmp_path_factory.mktemp("k8s-schemas") / f"v{KUBE_VERSION}-standalone-strict"
    target.mkdir()
    ref = re.compile(r'"(?:/api/_definitions\.json)?#/\$defs/([^"]+)"')
    for path in source.glob("*.json"):
        if path.name == "_definitions.json":
            continue
        text = path.read_text()
        needed: set[str] = set()
        pending = set(ref.findall(text))
        while pending:
            name = pending.pop()
            needed.add(name)
            pending |= set(ref.findall(json.dumps(definitions[name]))) - needed
        # kubeconform compiles schemas as draft 4 unless told: `definitions`, no `$id`.
        schema = json.loads(ref.sub(r'"#/definitions/\1"', text))
        schema.pop("$id", None)
        schema.pop("$schema", None)
        schema["definitions"] = {
            name: json.loads(ref.sub(r'"#/definitions/\1"', json.dumps(definitions[name])))
            for name in needed
        }
        (target / path.name).write_text(json.dumps(schema))
    yield target.parent

"""The test cluster: `make k8s-up`'s two steps, once for every test here, and `make
k8s-down`'s at the end, in the test that checks the machine is as it was (it runs last).
A test of `up` beside another Kubernetes runs before the cluster starts (test_foreign.py).

The cluster is questlog's own (questlog.k8s), started by these tests when it is not running;
a cluster someone left running is taken over, and stopped at the end all the same.
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from questlog.k8s import Node, machine
from questlog.k8s import cluster as k8s_cluster
from questlog.settings import REPO_ROOT

pytestmark = pytest.mark.k8s
NAMESPACE = "questlog"
# The write key the API chart keeps in its Secret (optional: a pod starts before the chart).
WRITE_KEY = {
    "secretKeyRef": {"name": "questlog-api-write-key", "key": "write-key", "optional": True}
}
DEPLOY = REPO_ROOT / "k8s" / "deploy.sh"
TRINO_QUERY = (
    "import json, sys; from questlog.stack.probes import trino_query; "
    "print(json.dumps(trino_query('127.0.0.1', 8080, sys.argv[1]), default=str))"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``before_cluster`` need the machine without the cluster: right before
    the first test of it. Tests marked ``teardown`` take the cluster down: after every
    other test of it."""
    first = [item for item in items if item.get_closest_marker("before_cluster")]
    last = [item for item in items if item.get_closest_marker("teardown")]
    rest = [item for item in items if item not in first and item not in last]
    # Right around the cluster tests: the tests before and after them need no cluster.
    k8s = [i for i, item in enumerate(rest) if item.get_closest_marker("k8s")]
    start, end = (k8s[0], k8s[-1] + 1) if k8s else (len(rest), len(rest))
    items[:] = rest[:start] + first + rest[start:end] + last + rest[end:]


def deploy_env(node: Node) -> dict[str, str]:
    """What the Makefile gives k8s/deploy.sh: the pinned helm, the cluster's kubectl and
    kubeconfig, the .venv's Python."""
    return {
        **os.environ,
        "HELM": os.environ.get("QUESTLOG_HELM", "helm"),
        "KUBECTL": str(node.binary("kubectl")),
        "KUBECONFIG": str(node.kubeconfig),
        "PYTHON": sys.executable,
        "NAMESPACE": NAMESPACE,
    }


@dataclass
class Cluster:
    node: Node
    # The machine before `up`, for the teardown test.
    before: dict[str, object]

    @property
    def env(self) -> dict[str, str]:
        return deploy_env(self.node)

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        return k8s_cluster.kubectl(self.node, *args, stdin=stdin)

    def deploy(
        self, *args: str, check: bool = True, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """`k8s/deploy.sh ACTION`, as the Makefile runs it (``env`` added: VALUES, LOAD_*);
        output kept for the assertion."""
        result = subprocess.run(
            [str(DEPLOY), *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"deploy.sh {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def start_pod(self, name: str, image: str, command: list[str]) -> None:
        """Start ``command`` in a pod of its own (replacing one of that name)."""
        spec = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {
                "restartPolicy": "Never",
                "enableServiceLinks": False,
                "containers": [
                    {
                        "name": name,
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": command,
                        # It posts as the chart's own clients do, with the API's key.
                        "env": [{"name": "QUESTLOG_WRITE_KEY", "valueFrom": WRITE_KEY}],
                    }
                ],
            },
        }
        self.kubectl("delete", "pod", name, "-n", NAMESPACE, "--ignore-not-found", "--wait")
        self.kubectl("apply", "-f", "-", stdin=json.dumps(spec))

    def pod_output(self, name: str, timeout: float = 120) -> str:
        """Wait until the pod's command has ended; its output (the pod is then deleted)."""
        deadline = time.monotonic() + timeout
        while (phase := self.phase(name)) not in ("Succeeded", "Failed"):
            assert time.monotonic() < deadline, f"pod {name} still {phase} after {timeout:.0f} s"
            time.sleep(1)
        output = self.kubectl("logs", name, "-n", NAMESPACE)
        self.kubectl("delete", "pod", name, "-n", NAMESPACE, "--wait=false")
        return output

    def phase(self, pod: str) -> str:
        return self.kubectl("get", "pod", pod, "-n", NAMESPACE, "-o", "jsonpath={.status.phase}")

    def run_pod(self, name: str, image: str, command: list[str], timeout: float = 120) -> str:
        """Run ``command`` in a pod of its own until it ends; its output."""
        self.start_pod(name, image, command)
        return self.pod_output(name, timeout)

    def trino(self, sql: str) -> list[list[object]]:
        """Rows of ``sql``, asked of Trino in its own pod (with the runner's client)."""
        output = self.kubectl(
            "exec", "-n", NAMESPACE, "deploy/trino", "--", "python", "-c", TRINO_QUERY, sql
        )
        rows: list[list[object]] = json.loads(output)
        return rows

    def eventually(self, sql: str, expected: list[list[object]], timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while (rows := self.trino(sql)) != expected:
            assert time.monotonic() < deadline, f"Trino returned {rows}, not {expected}, for {sql}"
            time.sleep(5)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    node = Node()
    before = machine.snapshot(node) if not node.state_dir.exists() else {}
    k8s_cluster.up(node)
    subprocess.run([str(DEPLOY), "install"], env=deploy_env(node), check=True, cwd=REPO_ROOT)
    yield Cluster(node, before)
    # The teardown test did not run, or failed half-way; a cluster that was up before the
    # tests (a developer's, `make k8s-up`) stays up.
    if before and node.state_dir.exists():
        k8s_cluster.down(node)

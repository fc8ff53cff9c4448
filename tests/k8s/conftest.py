"""The test cluster: `make k8s-up`'s two steps, once for every test here, and `make
k8s-down`'s at the end, in the test that checks the machine is as it was (it runs last).

The cluster is questlog's own (questlog.k8s), started by these tests when it is not running;
a cluster someone left running is taken over, and stopped at the end all the same.
"""

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from questlog.k8s import Node, machine
from questlog.k8s import cluster as k8s_cluster
from questlog.settings import REPO_ROOT

pytestmark = pytest.mark.k8s
NAMESPACE = "questlog"
DEPLOY = REPO_ROOT / "k8s" / "deploy.sh"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``teardown`` take the cluster down: after every other test of it."""
    last = [item for item in items if item.get_closest_marker("teardown")]
    items[:] = [item for item in items if item not in last] + last


@dataclass
class Cluster:
    node: Node
    # The machine before `up`, for the teardown test.
    before: dict[str, object]

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.node.kubeconfig), "NAMESPACE": NAMESPACE}

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        return k8s_cluster.kubectl(self.node, *args, stdin=stdin)

    def deploy(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`k8s/deploy.sh ACTION`, as the Makefile runs it: output kept for the assertion."""
        result = subprocess.run(
            [str(DEPLOY), *args], env=self.env, capture_output=True, text=True, cwd=REPO_ROOT
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"deploy.sh {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def run_pod(self, name: str, image: str, command: list[str], timeout: float = 120) -> str:
        """Run ``command`` in a pod of its own until it ends; its output."""
        spec = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": name,
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": command,
                    }
                ],
            },
        }
        self.kubectl("delete", "pod", name, "-n", NAMESPACE, "--ignore-not-found", "--wait")
        self.kubectl("apply", "-f", "-", stdin=json.dumps(spec))
        deadline = time.monotonic() + timeout
        while (
            phase := self.kubectl(
                "get", "pod", name, "-n", NAMESPACE, "-o", "jsonpath={.status.phase}"
            )
        ) not in (
            "Succeeded",
            "Failed",
        ):
            assert time.monotonic() < deadline, f"pod {name} still {phase} after {timeout:.0f} s"
            time.sleep(1)
        output = self.kubectl("logs", name, "-n", NAMESPACE)
        self.kubectl("delete", "pod", name, "-n", NAMESPACE, "--wait=false")
        return output


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    node = Node()
    before = machine.snapshot(node) if not node.state_dir.exists() else {}
    k8s_cluster.up(node)
    subprocess.run(
        [str(DEPLOY), "install"],
        env={**os.environ, "KUBECONFIG": str(node.kubeconfig)},
        check=True,
        cwd=REPO_ROOT,
    )
    yield Cluster(node, before)
    if node.state_dir.exists():  # the teardown test did not run, or failed half-way
        k8s_cluster.down(node)

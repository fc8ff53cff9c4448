"""Under continuous load: the streaming app's driver deleted twice and the Kafka broker
killed once, then an upgrade rolling the API; every event the API accepted (202) is in
Trino once."""

import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from questlog_catalog import load_catalog

from questlog.images import image_tag
from tests.helpers import unique
from tests.k8s.conftest import NAMESPACE, Cluster

pytestmark = pytest.mark.k8s

DRIVER = "sparkoperator.k8s.io/app-name=questlog-stream,spark-role=driver"
TABLES = sorted({entry.table for entry in load_catalog().values()})
STOP = "import os, signal; os.kill(1, signal.SIGTERM)"


class Load:
    """A pod posting sample batches to the API's Service until stopped."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.agent = unique("load")
        self.summary: dict[str, object] = {}

    def landed_sql(self) -> str:
        union = " UNION ALL ".join(
            f"SELECT event_id FROM hive.default.{t} WHERE user_agent = '{self.agent}'"
            for t in TABLES
        )
        return f"SELECT count(*), count(DISTINCT event_id) FROM ({union})"


@contextmanager
def load(cluster: Cluster) -> Iterator[Load]:
    running = Load(cluster)
    command = ["python", "-m", "questlog.traffic", "http://questlog-api:8000"]
    command += ["--seconds", "1200", "--user-agent", running.agent]
    cluster.start_pod("load", image_tag("ingest-api"), command)
    deadline = time.monotonic() + 120
    while cluster.phase("load") != "Running":
        assert time.monotonic() < deadline, "the load pod did not start"
        time.sleep(1)
    time.sleep(10)  # some traffic before the first fault
    yield running
    time.sleep(10)  # and some after the last
    cluster.kubectl("exec", "-n", NAMESPACE, "load", "--", "python", "-c", STOP)
    running.summary = json.loads(cluster.pod_output("load", timeout=120).splitlines()[-1])


def pod_uid(cluster: Cluster, selector: str) -> str:
    return cluster.kubectl(
        "get", "pod", "-n", NAMESPACE, "-l", selector, "-o", "jsonpath={.items[*].metadata.uid}"
    )


def submissions(cluster: Cluster) -> int:
    """How many times the operator has submitted the streaming app: once, then once for
    each driver that ended (deleted, or failed on its own, e.g. OOM-killed)."""
    status = "jsonpath={.status.submissionAttempts}"
    app = ("sparkapplication", "questlog-stream", "-n", NAMESPACE)
    return int(cluster.kubectl("get", *app, "-o", status))


def wait_replaced(cluster: Cluster, selector: str, old_uid: str, timeout: float = 600) -> None:
    """Until a pod other than ``old_uid`` matches ``selector`` and is ready."""
    deadline = time.monotonic() + timeout
    while True:
        uid = pod_uid(cluster, selector)
        if uid and uid != old_uid and " " not in uid:
            ready = cluster.kubectl(
                "get", "pod", "-n", NAMESPACE, "-l", selector,
                "-o", 'jsonpath={.items[0].status.conditions[?(@.type=="Ready")].status}',
            )  # fmt: skip
            if ready == "True":
                return
        assert time.monotonic() < deadline, f"no ready pod replaced {selector} in {timeout} s"
        time.sleep(2)


def test_driver_deleted_twice_and_broker_killed_once_lose_and_double_nothing(
    cluster: Cluster,
) -> None:
    submitted = submissions(cluster)
    with load(cluster) as running:
        for _ in range(2):
            uid = pod_uid(cluster, DRIVER)
            cluster.kubectl("delete", "pod", "-n", NAMESPACE, "-l", DRIVER, "--wait=false")
            wait_replaced(cluster, DRIVER, uid)  # the operator submits the app again
        broker = "app.kubernetes.io/component=kafka"
        uid = pod_uid(cluster, broker)
        # Killed: a second to stop, then SIGKILL; the StatefulSet starts it again on its claim.
        cluster.kubectl("delete", "pod", "questlog-kafka-0", "-n", NAMESPACE, "--grace-period=1")
        wait_replaced(cluster, broker, uid)
    accepted = running.summary["accepted"]
    assert isinstance(accepted, int) and accepted > 500, running.summary
    # Every batch was accepted in the end (one answered 503 while the broker was away is
    # posted again), so every event Trino may find was counted.
    assert running.summary["distinct"] == accepted and running.summary["unsent"] == 0
    cluster.eventually(running.landed_sql(), [[accepted, accepted]], timeout=600)
    # Submitted again for the two drivers deleted, and for no driver ending on its own.
    again = submissions(cluster) - submitted
    assert again == 2, f"the streaming app was submitted {again} times for 2 drivers deleted"


def test_an_upgrade_rolls_the_api_while_a_client_posts_and_loses_nothing(
    cluster: Cluster,
) -> None:
    api = "app.kubernetes.io/name=api,app.kubernetes.io/instance=questlog"
    before = set(pod_uid(cluster, api).split())
    submitted = submissions(cluster)
    with tempfile.TemporaryDirectory() as folder:
        changed = Path(folder) / "changed.yaml"
        changed.write_text(yaml.safe_dump({"api": {"settings": {"kafka_linger_ms": 5}}}))
        with load(cluster) as running:
            cluster.deploy("install", VALUES=str(changed))
    after = set(pod_uid(cluster, api).split())
    assert after and not after & before, "helm upgrade did not replace the API pods"
    # A new pod is ready before the old one stops, which drains: nothing refused, nothing cut.
    outcomes = running.summary["outcomes"]
    assert isinstance(outcomes, dict) and set(outcomes) <= {"202", "503"}, outcomes
    accepted = running.summary["accepted"]
    assert isinstance(accepted, int) and accepted > 100, running.summary
    assert running.summary["unsent"] == 0, running.summary
    cluster.eventually(running.landed_sql(), [[accepted, accepted]], timeout=600)
    assert submissions(cluster) == submitted, "the streaming app's driver ended meanwhile"

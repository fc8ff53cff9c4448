"""The test cluster itself: the egress guard, and `down` leaving the machine as it was."""

import json
import subprocess

import pytest

from questlog.images import image_tag
from questlog.k8s import POD_CIDR, guard, machine
from questlog.k8s import cluster as k8s_cluster
from tests.k8s.conftest import NAMESPACE, Cluster

pytestmark = pytest.mark.k8s

# The connection a pod makes, and what became of it, in one line.
CONNECT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], 80), timeout=10).close()
    print("connected")
except OSError as error:
    print(type(error).__name__)
"""


def test_egress_guard_is_first_and_pods_are_not_masqueraded(cluster: Cluster) -> None:
    assert guard.is_first(), "the egress guard is not first in FORWARD:\n" + "\n".join(
        guard.forward_rules()
    )
    chain = subprocess.run(
        ["iptables", "-w", "-S", guard.CHAIN], capture_output=True, text=True, check=True
    ).stdout
    assert f"-A {guard.CHAIN} -i cni0 -o cni0 -j ACCEPT" in chain
    assert "-i cni0 -p tcp -j REJECT --reject-with tcp-reset" in chain
    for conflist in (cluster.node.state_dir / "cni").glob("*.conflist"):
        bridge = json.loads(conflist.read_text())["plugins"][0]
        assert bridge["ipMasq"] is False, conflist
    nat = subprocess.run(
        ["iptables", "-w", "-t", "nat", "-S"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    masquerading = [rule for rule in nat if "MASQUERADE" in rule or "SNAT" in rule]
    # kube-proxy masquerades only what it marked itself (Service traffic from outside the
    # pod network); nothing rewrites the pods' own addresses.
    assert not [rule for rule in masquerading if POD_CIDR in rule], masquerading


def test_a_pods_connection_to_a_service_without_endpoints_is_refused_at_the_node(
    cluster: Cluster,
) -> None:
    # Only once the rules are shown to be in place: nothing here may leave the machine.
    test_egress_guard_is_first_and_pods_are_not_masqueraded(cluster)
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "no-endpoints", "namespace": NAMESPACE},
        "spec": {"selector": {"questlog.dev/none": "none"}, "ports": [{"port": 80}]},
    }
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(service))
    address = cluster.kubectl(
        "get", "service", "no-endpoints", "-n", NAMESPACE, "-o", "jsonpath={.spec.clusterIP}"
    )
    try:
        output = cluster.run_pod(
            "connect-no-endpoints",
            image_tag("ingest-api"),
            ["python", "-c", CONNECT, address],
        )
    finally:
        cluster.kubectl("delete", "service", "no-endpoints", "-n", NAMESPACE)
    assert output.strip() == "ConnectionRefusedError", output


def test_pods_resolve_cluster_names_and_nothing_beyond(cluster: Cluster) -> None:
    resolve = (
        "import socket\n"
        "for name in ('kubernetes.default.svc.cluster.local', 'pypi.org'):\n"
        "    try: print(name, socket.gethostbyname(name))\n"
        "    except OSError as error: print(name, type(error).__name__)\n"
    )
    output = cluster.run_pod("resolve", image_tag("ingest-api"), ["python", "-c", resolve])
    answers = dict(line.split() for line in output.splitlines())
    assert answers["kubernetes.default.svc.cluster.local"] == "10.96.0.1", output
    assert answers["pypi.org"] == "gaierror", output


def test_a_claim_gets_a_volume_of_the_default_storage_class(cluster: Cluster) -> None:
    classes = json.loads(cluster.kubectl("get", "storageclass", "-o", "json"))["items"]
    default = [
        c["metadata"]["name"]
        for c in classes
        if c["metadata"].get("annotations", {}).get("storageclass.kubernetes.io/is-default-class")
        == "true"
    ]
    assert default == ["standard"], default


@pytest.mark.teardown
def test_uninstall_and_down_leave_nothing_running_and_the_machine_as_before(
    cluster: Cluster,
) -> None:
    if not cluster.before:
        pytest.fail("the cluster was running before the tests: no record of the machine without it")
    cluster.deploy("uninstall")
    # The claims stay (the data's, as Helm leaves them); k8s-down removes them with the rest.
    left = cluster.kubectl("get", "pods", "-n", NAMESPACE, "-o", "name")
    assert left.strip() == "", f"left after helm uninstall: {left}"
    k8s_cluster.down(cluster.node)
    after = machine.snapshot(cluster.node)
    for key, value in cluster.before.items():
        assert after[key] == value, f"{key} differs after down"
    running = subprocess.run(
        ["pgrep", "-a", "-f", str(cluster.node.state_dir)], capture_output=True, text=True
    ).stdout
    assert running == "", f"still running: {running}"

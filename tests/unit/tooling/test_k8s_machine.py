"""The test cluster and the machine it runs on: `down` removes only what its `up` made,
and `up` refuses to start beside another Kubernetes (on footprints written out here)."""

from dataclasses import replace
from pathlib import Path

import pytest

from questlog.k8s import Node, foreign, guard
from questlog.k8s import cluster as k8s_cluster
from questlog.k8s.machine import Footprint, jumps_into, made_since
from questlog.stack.install import Say

# The machine before `up`: Docker's chains and bridge, a network namespace of someone's.
BEFORE = Footprint(
    folders=["/run/netns"],
    mounts=["/run/netns/someones"],
    chains={"iptables filter": ["DOCKER", "DOCKER-USER"], "iptables nat": ["DOCKER"]},
    links={"lo": "", "eth0": "", "docker0": "", "veth0a": "docker0"},
)
# While the cluster runs; Docker started a container meanwhile (veth1b on docker0).
NOW = Footprint(
    folders=["/var/lib/kubelet", "/run/netns"],
    mounts=["/run/netns/someones", "/run/netns/cni-1234", "/var/lib/kubelet/pods/x/volumes"],
    chains={
        "iptables filter": ["DOCKER", "DOCKER-USER", "KUBE-FIREWALL", guard.CHAIN],
        "iptables nat": ["DOCKER", "KUBE-SERVICES", "KUBE-SVC-ABC"],
        "ip6tables mangle": ["KUBE-KUBELET-CANARY"],
    },
    cgroups=["/sys/fs/cgroup/cpu/kubepods", "/sys/fs/cgroup/memory/kubepods"],
    links={
        "lo": "",
        "eth0": "",
        "docker0": "",
        "veth0a": "docker0",
        "cni0": "",
        "veth9f": "cni0",
        "veth1b": "docker0",
    },
)


def test_down_removes_what_is_of_the_clusters_kind_and_new_since_up() -> None:
    assert made_since(BEFORE, NOW) == Footprint(
        folders=["/var/lib/kubelet"],
        mounts=["/run/netns/cni-1234", "/var/lib/kubelet/pods/x/volumes"],
        chains={
            "iptables filter": ["KUBE-FIREWALL", guard.CHAIN],
            "iptables nat": ["KUBE-SERVICES", "KUBE-SVC-ABC"],
            "ip6tables mangle": ["KUBE-KUBELET-CANARY"],
        },
        cgroups=["/sys/fs/cgroup/cpu/kubepods", "/sys/fs/cgroup/memory/kubepods"],
        links={"cni0": "", "veth9f": "cni0"},
    )


def test_down_keeps_what_was_there_before_up_whatever_its_name() -> None:
    before = replace(NOW, chains={"iptables filter": ["KUBE-FOREIGN"]})
    now = replace(NOW, chains={"iptables filter": ["KUBE-FOREIGN", "KUBE-FIREWALL"]})
    assert made_since(before, now) == Footprint(chains={"iptables filter": ["KUBE-FIREWALL"]})


def test_only_jumps_into_the_chains_removed_are_deleted() -> None:
    rules = [
        "-P FORWARD DROP",
        "-N KUBE-FORWARD",
        "-N KUBE-FOREIGN",
        "-N KUBE-SVC-ABC",
        f"-A FORWARD -j {guard.CHAIN}",
        '-A FORWARD -m comment --comment "kubernetes forwarding" -j KUBE-FORWARD',
        "-A FORWARD -j KUBE-FOREIGN",
        "-A FORWARD -j DOCKER-USER",
        "-A INPUT -g KUBE-SVC-ABC",
        # Inside a chain that goes too: flushed with it.
        "-A KUBE-FORWARD -j KUBE-SVC-ABC",
    ]
    assert jumps_into(rules, {"KUBE-FORWARD", "KUBE-SVC-ABC", guard.CHAIN}) == [
        ["FORWARD", "-j", guard.CHAIN],
        ["FORWARD", "-m", "comment", "--comment", "kubernetes forwarding", "-j", "KUBE-FORWARD"],
        ["INPUT", "-g", "KUBE-SVC-ABC"],
    ]


def test_node_processes_not_of_the_clusters_own_are_foreign() -> None:
    processes = [
        (100, "kubelet", "/opt/questlog/.cache/k8s/kubelet"),
        (200, "kubelet", "/usr/bin/kubelet"),
        (300, "k3s-server", "/usr/local/bin/k3s"),
        (400, "kindnetd", None),
        (500, "kubectl", "/usr/bin/kubectl"),
        (600, "sleep", "/bin/sleep"),
    ]
    assert foreign.foreign_processes(processes, own={100}) == [
        "a kubelet process (pid 200, /usr/bin/kubelet)",
        "a k3s-server process (pid 300, /usr/local/bin/k3s)",
        "a kindnetd process (pid 400, executable unknown)",
    ]


def test_without_a_record_every_kubelet_folder_cgroup_and_kube_chain_is_foreign() -> None:
    assert foreign.foreign_leftovers(NOW, before=None) == [
        "the folder /var/lib/kubelet",
        "the cgroup /sys/fs/cgroup/cpu/kubepods",
        "the cgroup /sys/fs/cgroup/memory/kubepods",
        "the iptables filter chain KUBE-FIREWALL",
        "the iptables nat chain KUBE-SERVICES",
        "the iptables nat chain KUBE-SVC-ABC",
        "the ip6tables mangle chain KUBE-KUBELET-CANARY",
    ]


def test_what_the_clusters_own_up_made_is_not_foreign() -> None:
    # A second `up` on the running cluster.
    assert foreign.foreign_leftovers(NOW, before=BEFORE) == []
    # What was there before that `up` (its record says so) is another cluster's.
    before = replace(BEFORE, folders=NOW.folders)
    assert foreign.foreign_leftovers(NOW, before) == ["the folder /var/lib/kubelet"]


def test_up_refuses_before_it_builds_or_changes_anything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sign = "a kubelet process (pid 200, /usr/bin/kubelet)"
    monkeypatch.setattr(foreign, "find", lambda node: [sign])

    def build_binaries(node: Node, say: Say) -> None:
        # Its first step: stop here, before up writes or starts anything.
        raise AssertionError("up went on to build beside another Kubernetes")

    monkeypatch.setattr(k8s_cluster, "build_binaries", build_binaries)
    with pytest.raises(k8s_cluster.ClusterError, match="another Kubernetes") as refusal:
        k8s_cluster.up(Node(state_dir=tmp_path / ".k8s", cache_dir=tmp_path))
    assert sign in str(refusal.value)

"""The test cluster's configuration, as written for its processes: nothing listens on every
interface, pods are not masqueraded, runc is not asked for what root here may not do."""

import json
import tomllib
from itertools import pairwise
from pathlib import Path

from questlog.k8s import Node, config


def test_nothing_listens_on_every_interface(tmp_path: Path) -> None:
    node = Node(state_dir=tmp_path)
    commands = config.commands(node)
    # down stops them by these names, in reverse: every process started is among them.
    assert tuple(commands) == config.PROCESSES
    flags = {name: dict(pairwise(cmd)) for name, cmd in commands.items()}
    assert flags["kube-apiserver"]["--bind-address"] == node.address != "0.0.0.0"
    for name in ("kube-controller-manager", "kube-scheduler"):
        assert flags[name]["--bind-address"] == "127.0.0.1"
    assert flags["kube-proxy"]["--healthz-bind-address"].startswith("127.0.0.1:")
    kubelet = json.loads(config.kubelet_config(node).read_text())
    assert kubelet["address"] == node.address and kubelet["readOnlyPort"] == 0
    assert kubelet["authentication"]["anonymous"] == {"enabled": False}


def test_pods_are_bridged_without_masquerading(tmp_path: Path) -> None:
    node = Node(state_dir=tmp_path)
    config.write_cni(node)
    (conflist,) = (tmp_path / "cni").glob("*.conflist")
    (bridge,) = json.loads(conflist.read_text())["plugins"]
    assert bridge["type"] == "bridge" and bridge["ipMasq"] is False
    # No firewall plugin: its ACCEPT, first in FORWARD, would let pods out past the guard.
    assert "firewall" not in conflist.read_text()


def test_the_clusters_containerd_is_its_own_and_spares_oom_score_adj(tmp_path: Path) -> None:
    node = Node(state_dir=tmp_path)
    settings = tomllib.loads(config.containerd_config(node).read_text())
    assert settings["grpc"]["address"] == str(node.containerd_socket)
    assert settings["root"].startswith(str(tmp_path))
    cri = settings["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["restrict_oom_score_adj"] is True
    assert cri["sandbox_image"] == config.PAUSE_IMAGE

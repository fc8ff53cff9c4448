"""questlog's own test cluster: a real single-node Kubernetes on this machine, no kind.

``questlog k8s up`` starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
a containerd of the cluster's own, the kubelet and kube-proxy as local processes (the
Kubernetes binaries are built from the Go module proxy by k8s/build-kubernetes.sh), puts
the egress guard in front of every pod, loads questlog's images into the node, and starts
CoreDNS and a storage class as pods. ``questlog k8s down`` stops it all and puts the
machine back as it found it (``questlog.k8s.machine``). ``up`` refuses to start beside
another Kubernetes on the machine (``questlog.k8s.foreign``).
"""

import socket
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from questlog.settings import REPO_ROOT, Settings

KUBERNETES_VERSION = "v1.34.4"
# crictl removes the pods from containerd on `down`.
CRICTL_VERSION = "v1.34.0"
NODE_NAME = "questlog"
# Pods' addresses (one bridge, one node) and Services' virtual addresses.
POD_CIDR = "10.244.0.0/24"
SERVICE_CIDR = "10.96.0.0/16"
API_SERVICE_IP = "10.96.0.1"
DNS_SERVICE_IP = "10.96.0.10"
BRIDGE = "cni0"
ETCD_URL = "http://127.0.0.1:2379"
# Where the Debian packages put the CNI plugins.
CNI_BIN_DIR = Path("/usr/lib/cni")


def node_address() -> str:
    """The address this machine routes from: the API server and the kubelet bind to it,
    so pods reach them and nothing listens on every interface. (Connecting a UDP socket
    only asks the routing table; nothing is sent.)"""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.254", 9))
        return str(probe.getsockname()[0])


@dataclass(frozen=True)
class Node:
    """Where the cluster's files are: its state (``.k8s``, removed by ``down``) and the
    built binaries (in the download cache, kept)."""

    state_dir: Path = REPO_ROOT / ".k8s"
    cache_dir: Path = field(default_factory=lambda: Settings().cache_dir)

    @property
    def bin_dir(self) -> Path:
        return self.cache_dir / "k8s" / f"kubernetes-{KUBERNETES_VERSION}"

    @cached_property
    def address(self) -> str:
        return node_address()

    @property
    def kubeconfig(self) -> Path:
        """The administrator's kubeconfig (``make k8s-up`` prints it)."""
        return self.state_dir / "kubeconfig"

    @property
    def pki(self) -> Path:
        return self.state_dir / "pki"

    @property
    def containerd_socket(self) -> Path:
        return self.state_dir / "containerd" / "containerd.sock"

    @property
    def supervision(self) -> Settings:
        """Settings whose state folder is the cluster's: its processes' pid files and logs
        are kept as the local stack keeps its own (``questlog.stack.supervisor``)."""
        return Settings(state_dir=self.state_dir)

    def binary(self, name: str) -> Path:
        return self.bin_dir / name

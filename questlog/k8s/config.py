"""The cluster's configuration files and its processes' command lines.

Kubeconfigs and the kubelet's configuration are written as JSON (which both read as YAML);
containerd's is TOML, of a containerd instance that is the cluster's own (own root, state
and socket), apart from the one Docker runs, whose CRI is off.
"""

import json
from pathlib import Path

from questlog.k8s import (
    BRIDGE,
    CNI_BIN_DIR,
    DNS_SERVICE_IP,
    ETCD_URL,
    NODE_NAME,
    POD_CIDR,
    SERVICE_CIDR,
    Node,
)
from questlog.k8s.pki import CLIENTS

API_PORT = 6443
# The pause program (k8s' pause.c), imported under the name the kubelet expects.
PAUSE_IMAGE = "registry.k8s.io/pause:3.10.1"


def api_url(node: Node) -> str:
    return f"https://{node.address}:{API_PORT}"


def kubeconfig_path(node: Node, client: str) -> Path:
    return node.kubeconfig if client == "admin" else node.state_dir / f"{client}.kubeconfig"


def write_kubeconfigs(node: Node) -> None:
    for client in CLIENTS:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": NODE_NAME,
                    "cluster": {
                        "server": api_url(node),
                        "certificate-authority": str(node.pki / "ca.crt"),
                    },
                }
            ],
            "users": [
                {
                    "name": client,
                    "user": {
                        "client-certificate": str(node.pki / f"{client}.crt"),
                        "client-key": str(node.pki / f"{client}.key"),
                    },
                }
            ],
            "contexts": [{"name": NODE_NAME, "context": {"cluster": NODE_NAME, "user": client}}],
            "current-context": NODE_NAME,
        }
        kubeconfig_path(node, client).write_text(json.dumps(config, indent=2))


def containerd_config(node: Node) -> Path:
    root = node.state_dir / "containerd"
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    text = f"""version = 2
root = "{root}/root"
state = "{root}/state"

[grpc]
  address = "{node.containerd_socket}"

[{cri}]
  sandbox_image = "{PAUSE_IMAGE}"
  # Root here may not lower oom_score_adj (no CAP_SYS_RESOURCE): runc must not try.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"

[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[{cri}.cni]
  bin_dir = "{CNI_BIN_DIR}"
  conf_dir = "{node.state_dir}/cni"
"""
    path = root / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def write_cni(node: Node) -> None:
    """One bridge for every pod, masquerading off: see questlog.k8s.guard."""
    config = {
        "cniVersion": "0.4.0",
        "name": "questlog",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                # A pod reaches itself through its own Service.
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_CIDR}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(node.state_dir / "ipam"),
                },
            }
        ],
    }
    path = node.state_dir / "cni" / "10-questlog.conflist"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2))


def kubelet_config(node: Node) -> Path:
    pki = node.pki
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": node.address,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "tlsCertFile": str(pki / "kubelet-serving.crt"),
        "tlsPrivateKeyFile": str(pki / "kubelet-serving.key"),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": False},
            "x509": {"clientCAFile": str(pki / "ca.crt")},
        },
        # Only certificates of the cluster's CA get in at all (the API server's, above).
        "authorization": {"mode": "AlwaysAllow"},
        "cgroupDriver": "cgroupfs",
        "containerRuntimeEndpoint": f"unix://{node.containerd_socket}",
        "clusterDNS": [DNS_SERVICE_IP],
        "clusterDomain": "cluster.local",
        "failSwapOn": False,
        # Images come from `make images`, never from a registry: keep them however full
        # the disk gets, and evict pods only when it is nearly full.
        "imageGCHighThresholdPercent": 100,
        "evictionHard": {
            "memory.available": "200Mi",
            "nodefs.available": "3%",
            "imagefs.available": "3%",
        },
    }
    path = node.state_dir / "kubelet.json"
    path.write_text(json.dumps(config, indent=2))
    return path


# The cluster's processes, in start order (stopped in the reverse).
PROCESSES = (
    "containerd", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
    "kube-proxy", "kubelet",
)  # fmt: skip


def commands(node: Node) -> dict[str, list[str]]:
    """Each process of :data:`PROCESSES`' command; writes the configuration files they read."""
    pki, state, binary = node.pki, node.state_dir, node.binary
    peer = "http://127.0.0.1:2380"
    return {
        "containerd": ["containerd", "--config", str(containerd_config(node))],
        "etcd": [
            "etcd", "--name", NODE_NAME, "--data-dir", str(state / "etcd"),
            "--listen-client-urls", ETCD_URL, "--advertise-client-urls", ETCD_URL,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"{NODE_NAME}={peer}",
        ],
        "kube-apiserver": [
            str(binary("kube-apiserver")),
            "--etcd-servers", ETCD_URL,
            "--bind-address", node.address, "--advertise-address", node.address,
            "--secure-port", str(API_PORT),
            "--tls-cert-file", str(pki / "apiserver.crt"),
            "--tls-private-key-file", str(pki / "apiserver.key"),
            "--client-ca-file", str(pki / "ca.crt"),
            "--kubelet-client-certificate", str(pki / "apiserver-kubelet-client.crt"),
            "--kubelet-client-key", str(pki / "apiserver-kubelet-client.key"),
            # The node's name is no host name anyone resolves: reach the kubelet by address.
            "--kubelet-preferred-address-types", "InternalIP",
            "--service-cluster-ip-range", SERVICE_CIDR,
            "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
            "--service-account-key-file", str(pki / "sa.pub"),
            "--service-account-signing-key-file", str(pki / "sa.key"),
            "--authorization-mode", "Node,RBAC",
            "--allow-privileged=true",
            "--enable-admission-plugins", "NodeRestriction",
            "--profiling=false",
        ],
        "kube-controller-manager": [
            str(binary("kube-controller-manager")),
            "--kubeconfig", str(kubeconfig_path(node, "controller-manager")),
            "--bind-address", "127.0.0.1", "--leader-elect=false",
            "--service-account-private-key-file", str(pki / "sa.key"),
            "--root-ca-file", str(pki / "ca.crt"),
            "--cluster-signing-cert-file", str(pki / "ca.crt"),
            "--cluster-signing-key-file", str(pki / "ca.key"),
            "--use-service-account-credentials=true",
            "--service-cluster-ip-range", SERVICE_CIDR,
            "--profiling=false",
        ],
        "kube-scheduler": [
            str(binary("kube-scheduler")),
            "--kubeconfig", str(kubeconfig_path(node, "scheduler")),
            "--bind-address", "127.0.0.1", "--leader-elect=false", "--profiling=false",
        ],
        "kube-proxy": [
            str(binary("kube-proxy")),
            "--kubeconfig", str(kubeconfig_path(node, "kube-proxy")),
            "--hostname-override", NODE_NAME, "--proxy-mode", "iptables",
            "--cluster-cidr", POD_CIDR,
            "--metrics-bind-address", "127.0.0.1:10249",
            "--healthz-bind-address", "127.0.0.1:10256",
            # 0: leave the machine's conntrack settings as they are.
            "--conntrack-max-per-core", "0",
            "--conntrack-tcp-timeout-established", "0",
            "--conntrack-tcp-timeout-close-wait", "0",
            # No NodePorts on 127.0.0.1: that would need route_localnet.
            "--iptables-localhost-nodeports=false",
        ],
        "kubelet": [
            str(binary("kubelet")),
            "--config", str(kubelet_config(node)),
            "--kubeconfig", str(kubeconfig_path(node, "kubelet")),
            "--hostname-override", NODE_NAME, "--node-ip", node.address,
        ],
    }  # fmt: skip

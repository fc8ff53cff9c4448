"""``questlog k8s up|down|status``: the cluster's processes, started in order, each waited for
until it answers, and stopped in the reverse order."""

import ssl
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from string import Template

import psutil

from questlog.k8s import (
    CRICTL_VERSION,
    DNS_SERVICE_IP,
    ETCD_URL,
    KUBERNETES_VERSION,
    NODE_NAME,
    Node,
    config,
    foreign,
    guard,
    machine,
    pki,
)
from questlog.k8s.images import load_images
from questlog.settings import REPO_ROOT
from questlog.stack import supervisor
from questlog.stack.install import Say

# The cluster's own pods (DNS, the storage class), applied once the node is ready.
ADDONS = REPO_ROOT / "k8s" / "cluster"
START_TIMEOUT = 120.0


class ClusterError(RuntimeError):
    """The cluster could not be brought up or down; the message says why."""


@dataclass(frozen=True)
class Process:
    name: str
    command: list[str]
    # Returns what the process answered; raises OSError (or ClusterError) while it does not.
    probe: Callable[[], str]


def _get(url: str, context: ssl.SSLContext | None = None) -> str:
    with urllib.request.urlopen(url, timeout=3, context=context) as response:
        return str(response.read().decode()[:80])


def _admin_tls(node: Node) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(node.pki / "ca.crt"))
    context.load_cert_chain(str(node.pki / "admin.crt"), str(node.pki / "admin.key"))
    return context


def _local_tls() -> ssl.SSLContext:
    """The controller-manager and scheduler serve /healthz on 127.0.0.1 with a certificate
    they make themselves."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def kubectl(node: Node, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(node.binary("kubectl")), "--kubeconfig", str(node.kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ClusterError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def _containerd_answers(node: Node) -> str:
    result = subprocess.run(
        ["ctr", "--address", str(node.containerd_socket), "version"], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise ClusterError(result.stderr.strip())
    return "version answered"


def _node_ready(node: Node) -> str:
    ready = kubectl(
        node,
        "get",
        "node",
        NODE_NAME,
        "-o",
        'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
    )
    if ready != "True":
        raise ClusterError(f"node {NODE_NAME} is not Ready ({ready or 'not registered'})")
    return "node Ready"


def _kube_proxy_synced() -> str:
    if not any("KUBE-FORWARD" in rule for rule in guard.forward_rules()):
        raise ClusterError("kube-proxy has not written its rules yet")
    # kube-proxy puts its jumps first in FORWARD once; the guard goes back in front of them.
    guard.keep_first()
    return "rules written; egress guard first in FORWARD"


def processes(node: Node) -> list[Process]:
    commands = config.commands(node)
    local = _local_tls()
    probes: dict[str, Callable[[], str]] = {
        "containerd": lambda: _containerd_answers(node),
        "etcd": lambda: _get(f"{ETCD_URL}/health"),
        "kube-apiserver": lambda: _get(f"{config.api_url(node)}/readyz", _admin_tls(node)),
        "kube-controller-manager": lambda: _get("https://127.0.0.1:10257/healthz", local),
        "kube-scheduler": lambda: _get("https://127.0.0.1:10259/healthz", local),
        "kube-proxy": _kube_proxy_synced,
        "kubelet": lambda: _node_ready(node),
    }
    return [Process(name, command, probes[name]) for name, command in commands.items()]


def _wait(node: Node, process: Process, say: Say) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if supervisor.find(node.supervision, process.name) is None:
            log = supervisor.log_file(node.supervision, process.name)
            raise ClusterError(
                f"{process.name} exited; its log {log} ends:\n{supervisor.failure_summary(log)}"
            )
        try:
            say(f"  {process.name}: {process.probe()}")
            return
        except (OSError, ClusterError) as error:
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"{process.name} did not answer in {START_TIMEOUT:.0f} s: {error}"
                ) from error
        time.sleep(1)


def build_binaries(node: Node, say: Say) -> None:
    """Kubernetes and crictl from the Go module proxy, once: the download cache keeps them
    (and Go's build cache makes a rebuild of another version quick)."""
    if not node.binary("kubelet").exists():
        say(f"Building Kubernetes {KUBERNETES_VERSION} into {node.bin_dir} ...")
        build = [
            str(REPO_ROOT / "k8s" / "build-kubernetes.sh"),
            KUBERNETES_VERSION,
            str(node.bin_dir),
        ]
        subprocess.run(build, check=True)
    if not node.binary("crictl").exists():
        crictl = ["sigs.k8s.io/cri-tools", CRICTL_VERSION, "cmd/crictl", str(node.binary("crictl"))]
        version_flag = f"-X sigs.k8s.io/cri-tools/pkg/version.Version={CRICTL_VERSION}"
        subprocess.run(
            [str(REPO_ROOT / "images" / "go-build.sh"), *crictl, version_flag], check=True
        )


def up(node: Node, say: Say = print) -> None:
    """Start the cluster's processes that do not run, each once the one before answers;
    then load the images and start the cluster's own pods."""
    # Before anything is built or changed: nothing of another cluster may be touched.
    refuse_beside_another_kubernetes(node)
    build_binaries(node, say)
    machine.record(node)
    pki.create(node)
    config.write_kubeconfigs(node)
    config.write_cni(node)
    # Before any pod exists: every pod starts behind the guard.
    guard.install()
    for process in processes(node):
        if supervisor.find(node.supervision, process.name) is None:
            supervisor.start(node.supervision, process.name, process.command, cwd=node.state_dir)
            say(f"Started {process.name}; waiting until it answers ...")
        _wait(node, process, say)
        if process.name == "containerd":
            load_images(node, say)
    apply_addons(node, say)
    say(f"The cluster is ready. kubeconfig: {node.kubeconfig}")


def refuse_beside_another_kubernetes(node: Node) -> None:
    if signs := foreign.find(node):
        raise ClusterError(
            "another Kubernetes is on this machine; questlog's test cluster would share its "
            "kubelet folder, pod cgroups and KUBE-* iptables chains, so it does not start. "
            "Found:\n" + "\n".join(f"  {sign}" for sign in signs) + "\n"
            "Stop that cluster (or remove what it left) and run `questlog k8s up` again."
        )


def apply_addons(node: Node, say: Say) -> None:
    values = {
        "VERSION": version("questlog"),
        "DNS_SERVICE_IP": DNS_SERVICE_IP,
        "VOLUMES_DIR": str(node.state_dir / "volumes"),
    }
    for manifest in sorted(ADDONS.glob("*.yaml")):
        kubectl(node, "apply", "-f", "-", stdin=Template(manifest.read_text()).substitute(values))
    say("Waiting for the cluster's DNS and storage ...")
    kubectl(node, "-n", "kube-system", "rollout", "status", "deployment", "--timeout=180s")


def down(node: Node, say: Say = print) -> None:
    """Stop every process, remove every pod's containers, and put the machine back."""
    crictl = node.binary("crictl")
    for name in reversed(config.PROCESSES):
        if name == "containerd" and crictl.exists() and supervisor.find(node.supervision, name):
            # Stop and remove every pod while containerd still answers: its CNI teardown
            # frees the pods' addresses and network namespaces.
            endpoint = f"unix://{node.containerd_socket}"
            subprocess.run([str(crictl), "--runtime-endpoint", endpoint, "rmp", "--all", "--force"],
                           capture_output=True, check=False)  # fmt: skip
        if supervisor.stop(node.supervision, name, timeout=30):
            say(f"Stopped {name}")
    _kill_shims(node)
    if machine.restore(node):
        say("The cluster is down; the machine is as it was before `up`.")
    else:
        say("No cluster was started here (no record of `up`): the machine is left as it is.")


def _kill_shims(node: Node) -> None:
    """containerd's shims (one per pod) outlive containerd: end those of our containerd."""
    address = str(node.containerd_socket)
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "containerd-shim-runc-v2" and address in (
            process.info["cmdline"] or []
        ):
            for child in process.children(recursive=True):
                child.kill()
            process.kill()


def status(node: Node) -> list[str]:
    lines = []
    for name in config.PROCESSES if node.state_dir.exists() else ():
        running = supervisor.find(node.supervision, name)
        memory = f"{supervisor.tree_rss(running) / 2**20:.0f} MiB" if running else "-"
        lines.append(f"{name:24} {'running' if running else 'stopped':8} {memory}")
    return lines or ["The cluster is not running."]

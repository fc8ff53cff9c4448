"""What the cluster changes on this machine, and how ``down`` puts it back.

The kubelet sets kernel settings and writes fixed folders whatever its flags; containerd
and the CNI plugins mount, make network namespaces, a bridge and cgroups; kube-proxy adds
iptables chains. ``record`` notes the machine before the first ``up``; ``restore`` undoes
all of it after the processes have stopped. ``snapshot`` is what a test compares.
"""

import contextlib
import json
import shlex
import shutil
import subprocess
from pathlib import Path

from questlog.k8s import BRIDGE, Node, guard

# The kernel settings the kubelet and kube-proxy set (kubelet: its "kernel defaults").
KERNEL_SETTINGS = (
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "net/ipv4/conf/all/route_localnet",
    "net/ipv4/ip_forward",
    "net/bridge/bridge-nf-call-iptables",
    "net/netfilter/nf_conntrack_max",
)
# Folders the kubelet, containerd's CNI cache and the network namespaces use at fixed places.
FIXED_FOLDERS = (
    Path("/var/lib/kubelet"),
    Path("/var/lib/cni"),
    Path("/var/log/pods"),
    Path("/var/log/containers"),
    Path("/run/netns"),
)
CGROUP_ROOT = Path("/sys/fs/cgroup")
POD_CGROUP = "kubepods"


def _before_file(node: Node) -> Path:
    return node.state_dir / "machine-before.json"


def _read(setting: str) -> str | None:
    try:
        return (Path("/proc/sys") / setting).read_text().strip()
    except OSError:
        return None


def record(node: Node) -> None:
    """Note the kernel settings and which fixed folders exist, once: a second ``up`` on a
    running cluster must not take the cluster's changes for the machine's own."""
    path = _before_file(node)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    before = {
        "kernel": {setting: _read(setting) for setting in KERNEL_SETTINGS},
        "folders": [str(folder) for folder in FIXED_FOLDERS if folder.exists()],
    }
    path.write_text(json.dumps(before, indent=2))


def _mounts_under(prefixes: tuple[str, ...]) -> list[str]:
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    return [mount for mount in mounts if mount.startswith(prefixes)]


def unmount_all(node: Node) -> None:
    """Unmount what pods left mounted (volumes, network namespaces, root filesystems),
    deepest first."""
    prefixes = (*[str(folder) for folder in FIXED_FOLDERS], str(node.state_dir))
    for mount in sorted(set(_mounts_under(prefixes)), key=len, reverse=True):
        subprocess.run(["umount", "-l", mount], check=False, capture_output=True)


def _remove_cgroups() -> None:
    for controller in CGROUP_ROOT.iterdir():
        top = controller / POD_CGROUP
        if not top.is_dir():
            continue
        # Depth first: a cgroup can only be removed once its children are.
        for cgroup in sorted(top.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if cgroup.is_dir():
                with contextlib.suppress(OSError):
                    cgroup.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()


def _remove_kube_chains() -> None:
    """The chains kube-proxy's --cleanup leaves: the kubelet's own (KUBE-FIREWALL,
    KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT), which it has no command to remove."""
    for command in ("iptables", "ip6tables"):
        for table in ("filter", "nat", "mangle"):
            listing = subprocess.run(
                [command, "-w", "-t", table, "-S"], capture_output=True, text=True, check=False
            ).stdout.splitlines()
            chains = [line.split()[1] for line in listing if line.startswith("-N KUBE-")]
            for words in map(shlex.split, listing):
                # A jump from a chain of the machine's own to one of theirs.
                jumps = "-j" in words and words[words.index("-j") + 1].startswith("KUBE-")
                if words[0] == "-A" and not words[1].startswith("KUBE-") and jumps:
                    subprocess.run([command, "-w", "-t", table, "-D", *words[1:]], check=False)
            for action in ("-F", "-X"):
                for chain in chains:
                    subprocess.run([command, "-w", "-t", table, action, chain], check=False)


def restore(node: Node, kube_proxy: Path) -> None:
    """Undo the cluster's changes; every step runs even when an earlier one found nothing."""
    unmount_all(node)
    if kube_proxy.exists():
        # kube-proxy removes its own chains (filter and nat, KUBE-*).
        subprocess.run([str(kube_proxy), "--cleanup"], check=False, capture_output=True)
    _remove_kube_chains()
    guard.remove()
    subprocess.run(["ip", "link", "delete", BRIDGE], check=False, capture_output=True)
    _remove_cgroups()
    path = _before_file(node)
    before = json.loads(path.read_text()) if path.exists() else {"kernel": {}, "folders": []}
    for setting, value in before["kernel"].items():
        if value is not None and _read(setting) != value:
            (Path("/proc/sys") / setting).write_text(value)
    for folder in FIXED_FOLDERS:
        if str(folder) not in before["folders"]:
            shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(node.state_dir, ignore_errors=True)


def _iptables_rules() -> list[str]:
    """Every table's rules without counters (the chains and rules, not the traffic)."""
    rules: list[str] = []
    for table in ("filter", "nat", "mangle"):
        listing = subprocess.run(
            ["iptables", "-w", "-t", table, "-S"], check=True, capture_output=True, text=True
        )
        rules += [f"{table}: {rule}" for rule in listing.stdout.splitlines()]
    return rules


def snapshot(node: Node) -> dict[str, object]:
    """What ``down`` must leave as ``up`` found it."""
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True)
    return {
        "kernel": {setting: _read(setting) for setting in KERNEL_SETTINGS},
        "folders": [str(folder) for folder in (*FIXED_FOLDERS, node.state_dir) if folder.exists()],
        "iptables": _iptables_rules(),
        "links": sorted(
            line.split(":")[1].strip().split("@")[0] for line in links.stdout.splitlines()
        ),
        "mounts": _mounts_under(("/var/lib/kubelet", "/run/netns", str(node.state_dir))),
        "cgroups": [str(c) for c in CGROUP_ROOT.glob(f"*/{POD_CGROUP}")],
    }

"""What the cluster changes on this machine, and how ``down`` puts it back.

The kubelet sets kernel settings and writes fixed folders whatever its flags; containerd
and the CNI plugins mount, make network namespaces, a bridge and cgroups; the kubelet and
kube-proxy add iptables chains. ``record`` notes the machine before the first ``up``;
``restore`` removes, once the processes have stopped, what is of a kind the cluster makes
and was not there then, each thing by its name: never everything of a prefix, so whatever
was on the machine before ``up`` stays (and ``up`` refuses to start beside another
Kubernetes at all: ``questlog.k8s.foreign``). ``snapshot`` is what a test compares.
"""

import contextlib
import json
import shlex
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
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
KUBELET_FOLDER = "/var/lib/kubelet"
# Folders the kubelet, containerd's CNI cache and the network namespaces use at fixed places.
FIXED_FOLDERS = (
    Path(KUBELET_FOLDER),
    Path("/var/lib/cni"),
    Path("/var/log/pods"),
    Path("/var/log/containers"),
    Path("/run/netns"),
)
CGROUP_ROOT = Path("/sys/fs/cgroup")
POD_CGROUP = "kubepods"
LINKS = Path("/sys/class/net")
IPTABLES = ("iptables", "ip6tables")
# The kubelet's and kube-proxy's chains are all named so (ours and any other cluster's).
KUBE_CHAIN = "KUBE-"


@dataclass(frozen=True)
class Footprint:
    """The things on the machine of the kinds the cluster makes, by name."""

    folders: list[str] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)
    # Each table's chains (not the built-in ones), as "iptables nat": names.
    chains: dict[str, list[str]] = field(default_factory=dict)
    cgroups: list[str] = field(default_factory=list)
    # Each network link and the bridge it is a port of ("" for none).
    links: dict[str, str] = field(default_factory=dict)


def is_cluster_chain(chain: str) -> bool:
    return chain.startswith(KUBE_CHAIN) or chain == guard.CHAIN


def made_since(before: Footprint, now: Footprint) -> Footprint:
    """What of ``now`` the cluster made: of a kind it makes, and not there ``before``."""
    return Footprint(
        folders=[folder for folder in now.folders if folder not in before.folders],
        mounts=[mount for mount in now.mounts if mount not in before.mounts],
        chains={
            table: [
                chain
                for chain in chains
                if is_cluster_chain(chain) and chain not in before.chains.get(table, [])
            ]
            for table, chains in now.chains.items()
        },
        cgroups=[cgroup for cgroup in now.cgroups if cgroup not in before.cgroups],
        links={
            link: bridge
            for link, bridge in now.links.items()
            if link not in before.links and BRIDGE in (link, bridge)
        },
    )


def jumps_into(rules: list[str], chains: set[str]) -> list[list[str]]:
    """The rules (``-A CHAIN ...``, as iptables lists them) of other chains that jump or go to
    one of ``chains``, as ``-D`` takes them: a chain goes only once nothing refers to it."""
    jumps = []
    for words in map(shlex.split, rules):
        targets = {words[i + 1] for i, word in enumerate(words[:-1]) if word in ("-j", "-g")}
        if words[0] == "-A" and words[1] not in chains and targets & chains:
            jumps.append(words[1:])
    return jumps


def _read(setting: str) -> str | None:
    try:
        return (Path("/proc/sys") / setting).read_text().strip()
    except OSError:
        return None


def saved_tables(command: str, saved: str) -> dict[str, list[str]]:
    """Each table's chains (``:NAME POLICY``; ``-`` for one not built in) and rules, from
    what ``COMMAND-save`` printed, without counters (not the traffic)."""
    tables: dict[str, list[str]] = {}
    lines: list[str] = []
    for line in saved.splitlines():
        if line.startswith("*"):
            lines = tables[f"{command} {line[1:]}"] = []
        elif line.startswith(":"):
            lines.append(line.split(" [")[0])
        elif line.startswith("-A "):
            lines.append(line)
    return tables


def chains_of(lines: list[str]) -> list[str]:
    """The chains a table declares that are not built in."""
    return [line[1:].split()[0] for line in lines if line.startswith(":") and line.endswith(" -")]


def _tables(command: str) -> dict[str, list[str]]:
    """Every table there is, as ``COMMAND-save`` lists it (one command for all tables)."""
    if shutil.which(f"{command}-save") is None:
        return {}
    saved = subprocess.run([f"{command}-save"], capture_output=True, text=True, check=False)
    return saved_tables(command, saved.stdout)


def _chains() -> dict[str, list[str]]:
    return {
        table: chains_of(lines) for command in IPTABLES for table, lines in _tables(command).items()
    }


def _mounts_under(folders: tuple[Path, ...]) -> list[str]:
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    return [mount for mount in mounts if any(Path(mount).is_relative_to(f) for f in folders)]


def _pod_cgroups() -> list[str]:
    return sorted(str(cgroup) for cgroup in CGROUP_ROOT.glob(f"*/{POD_CGROUP}"))


def _bridge_of(link: Path) -> str:
    return (link / "master").resolve().name if (link / "master").exists() else ""


def footprint(node: Node) -> Footprint:
    """The machine as it is now, in the kinds of thing the cluster makes."""
    return Footprint(
        folders=[str(folder) for folder in FIXED_FOLDERS if folder.exists()],
        mounts=_mounts_under((*FIXED_FOLDERS, node.state_dir)),
        chains=_chains(),
        cgroups=_pod_cgroups(),
        links={link.name: _bridge_of(link) for link in sorted(LINKS.iterdir())},
    )


def _record_file(node: Node) -> Path:
    return node.state_dir / "machine-before.json"


def record(node: Node) -> None:
    """Note the kernel settings and the machine's footprint, once: a second ``up`` on a
    running cluster must not take the cluster's changes for the machine's own."""
    path = _record_file(node)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    before = {
        "kernel": {setting: _read(setting) for setting in KERNEL_SETTINGS},
        "footprint": asdict(footprint(node)),
    }
    path.write_text(json.dumps(before, indent=2))


def recorded(node: Node) -> Footprint | None:
    """The machine's footprint before this cluster's ``up``; None if it has no record."""
    path = _record_file(node)
    return Footprint(**json.loads(path.read_text())["footprint"]) if path.exists() else None


def _unmount(mounts: list[str]) -> None:
    """Deepest first: volumes, network namespaces and root filesystems pods left mounted."""
    for mount in sorted(set(mounts), key=len, reverse=True):
        subprocess.run(["umount", "-l", mount], check=False, capture_output=True)


def _remove_chains(chains: dict[str, list[str]]) -> None:
    for table, names in chains.items():
        if not names:
            continue
        command, name = table.split()
        iptables = [command, "-w", "-t", name]
        for jump in jumps_into(_tables(command).get(table, []), set(names)):
            subprocess.run([*iptables, "-D", *jump], check=False, capture_output=True)
        for action in ("-F", "-X"):
            for chain in names:
                subprocess.run([*iptables, action, chain], check=False, capture_output=True)


def _remove_links(links: dict[str, str]) -> None:
    for link in links:
        subprocess.run(["ip", "link", "delete", link], check=False, capture_output=True)


def _remove_cgroups(cgroups: list[str]) -> None:
    for top in map(Path, cgroups):
        # Depth first: a cgroup can only be removed once its children are.
        for cgroup in sorted(top.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if cgroup.is_dir():
                with contextlib.suppress(OSError):
                    cgroup.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()


def _restore_kernel(node: Node) -> None:
    for setting, value in json.loads(_record_file(node).read_text())["kernel"].items():
        if value is not None and _read(setting) != value:
            (Path("/proc/sys") / setting).write_text(value)


def restore(node: Node) -> bool:
    """Undo the cluster's changes; every step runs even when an earlier one found nothing.
    Without a record (no ``up`` ran here) only the cluster's own folder goes: False then."""
    before = recorded(node)
    own = Footprint(mounts=_mounts_under((node.state_dir,)))
    made = made_since(before, footprint(node)) if before else own
    _unmount(made.mounts)
    _remove_chains(made.chains)
    _remove_links(made.links)
    _remove_cgroups(made.cgroups)
    if before:
        _restore_kernel(node)
    for folder in made.folders:
        shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(node.state_dir, ignore_errors=True)
    return before is not None


def _accepts_all(lines: list[str]) -> bool:
    return all(line.startswith(":") and line.endswith(" ACCEPT") for line in lines)


def _iptables_rules() -> list[str]:
    """Every table's chains and rules. A table of nothing but its built-in chains, accepting
    all, counts as none (as ``-S`` lists a missing one): the kubelet makes ip6tables' and
    mangle's when they are missing, and iptables has no command to remove a table."""
    return [
        f"{table}: {line}"
        for command in IPTABLES
        for table, lines in _tables(command).items()
        if not _accepts_all(lines)
        for line in lines
    ]


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
        "mounts": _mounts_under((Path(KUBELET_FOLDER), Path("/run/netns"), node.state_dir)),
        "cgroups": _pod_cgroups(),
    }

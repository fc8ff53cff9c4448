"""Another Kubernetes on this machine, beside which questlog's test cluster must not start.

Two clusters on one machine share the kubelet's folder, the pods' cgroups and iptables
chains that every kubelet and kube-proxy name alike (``KUBE-*``): ours would run on top of
theirs, and its ``down`` could not tell its own things from theirs. So ``up`` looks first
for a Kubernetes node's process that is not one of the cluster's own (a kubelet, also the
one of each kind or minikube node, which runs in a container but is a process of this
machine; k3s, k0s, MicroK8s' kubelite, kind's kindnetd), and for a kubelet folder, pod
cgroups or ``KUBE-*`` chains that the cluster's own record does not show it made. A
cluster inside a virtual machine (Docker Desktop's) shares none of these and is not
looked for.
"""

from collections.abc import Collection, Iterable

import psutil

from questlog.k8s import Node, config, machine
from questlog.stack import supervisor

NODE_PROCESSES = ("kubelet", "kubelite", "k0s", "kindnetd")
# k3s names its processes k3s-server, k3s-agent (and k3s while it starts).
K3S = "k3s"


def is_node_process(name: str) -> bool:
    return name in NODE_PROCESSES or name.startswith(K3S)


def foreign_processes(
    processes: Iterable[tuple[int, str, str | None]], own: Collection[int]
) -> list[str]:
    """Of ``processes`` (pid, name, executable), those of a Kubernetes node whose pid is
    not among ``own``."""
    return [
        f"a {name} process (pid {pid}, {exe or 'executable unknown'})"
        for pid, name, exe in processes
        if is_node_process(name) and pid not in own
    ]


def foreign_leftovers(now: machine.Footprint, before: machine.Footprint | None) -> list[str]:
    """What of a Kubernetes is in ``now`` that the cluster did not make: all of it when the
    cluster has no record (``before``, the machine before its ``up``)."""
    made = machine.made_since(before, now) if before else machine.Footprint()
    signs = []
    if machine.KUBELET_FOLDER in now.folders and machine.KUBELET_FOLDER not in made.folders:
        signs.append(f"the folder {machine.KUBELET_FOLDER}")
    signs += [f"the cgroup {cgroup}" for cgroup in now.cgroups if cgroup not in made.cgroups]
    for table, chains in now.chains.items():
        signs += [
            f"the {table} chain {chain}"
            for chain in chains
            if chain.startswith(machine.KUBE_CHAIN) and chain not in made.chains.get(table, [])
        ]
    return signs


def _own_pids(node: Node) -> set[int]:
    """The cluster's processes, as its supervisor recorded them under its state folder."""
    running = (supervisor.find(node.supervision, name) for name in config.PROCESSES)
    return {process.pid for process in running if process is not None}


def find(node: Node) -> list[str]:
    """Each sign of another Kubernetes on this machine, one line each; none if there is none."""
    processes = (
        (process.info["pid"], process.info["name"] or "", process.info["exe"])
        for process in psutil.process_iter(["pid", "name", "exe"])
    )
    return [
        *foreign_processes(processes, _own_pids(node)),
        *foreign_leftovers(machine.footprint(node), machine.recorded(node)),
    ]

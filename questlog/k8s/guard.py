"""The egress guard: no pod reaches any address beyond this machine.

A chain of our own, first in FORWARD: traffic between pods (bridge to bridge) passes, and
anything else a pod sends that would leave the bridge is rejected at the node. Pods still
reach the node itself (the API server, Services whose endpoints are host processes): that
traffic is INPUT, not FORWARD. With the bridge's masquerading off too, a pod's packet has no
address it could return to from outside even if a rule were missing.
"""

import subprocess

from questlog.k8s import BRIDGE

CHAIN = "QUESTLOG-EGRESS"
JUMP = ["FORWARD", "-j", CHAIN]
RULES = [
    ["-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT"],
    # A refused TCP connection for TCP, an ICMP error for the rest: callers fail at once.
    ["-i", BRIDGE, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"],
    ["-i", BRIDGE, "-j", "REJECT", "--reject-with", "icmp-port-unreachable"],
]


def _iptables(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    # -w: wait for the xtables lock kube-proxy and Docker take too.
    return subprocess.run(["iptables", "-w", *args], check=check, capture_output=True, text=True)


def forward_rules() -> list[str]:
    """FORWARD's rules in order, as ``iptables -S`` prints them (the policy line first)."""
    return _iptables("-S", "FORWARD").stdout.splitlines()


def is_first() -> bool:
    rules = [rule for rule in forward_rules() if rule.startswith("-A ")]
    return bool(rules) and rules[0] == f"-A FORWARD -j {CHAIN}"


def install() -> None:
    """Create (or rewrite) the chain and put the jump to it first in FORWARD."""
    if _iptables("-N", CHAIN, check=False).returncode != 0:
        _iptables("-F", CHAIN)
    for rule in RULES:
        _iptables("-A", CHAIN, *rule)
    keep_first()


def keep_first() -> None:
    """Move the jump back to the top: kube-proxy and Docker insert their own jumps first
    when they start."""
    if is_first():
        return
    while _iptables("-D", *JUMP, check=False).returncode == 0:
        pass
    _iptables("-I", "FORWARD", "1", "-j", CHAIN)

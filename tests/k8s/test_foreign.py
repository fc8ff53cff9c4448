"""`questlog k8s up` beside another Kubernetes: it refuses, and `down` leaves the other alone.

The other Kubernetes is a stand-in footprint: a process named kubelet (a copy of sleep in a
folder of the test's own), a KUBE-FOREIGN chain with a jump to it at the end of FORWARD (it
only returns, so traffic goes on as before), and a marker file in /var/lib/kubelet.
"""

import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from questlog.k8s import Node

CHAIN = "KUBE-FOREIGN"
JUMP = ["FORWARD", "-j", CHAIN]
KUBELET_FOLDER = Path("/var/lib/kubelet")
MARKER = KUBELET_FOLDER / "questlog-foreign-test"


def _iptables(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["iptables", "-w", *args], capture_output=True, text=True, check=check)


def _questlog(*args: str) -> subprocess.CompletedProcess[str]:
    # Long enough for a refusal that broke: up then builds and starts the cluster.
    return subprocess.run(
        [sys.executable, "-m", "questlog.cli", *args], capture_output=True, text=True, timeout=600
    )


@contextmanager
def another_kubernetes(folder: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The stand-in, its kubelet process yielded; on exit, each part made is undone."""
    with ExitStack() as undo:
        if not KUBELET_FOLDER.exists():
            KUBELET_FOLDER.mkdir(parents=True)
            undo.callback(shutil.rmtree, KUBELET_FOLDER, ignore_errors=True)
        MARKER.write_text("another cluster's kubelet folder, as questlog's tests stand it in\n")
        undo.callback(MARKER.unlink, missing_ok=True)
        _iptables("-N", CHAIN)
        undo.callback(_iptables, "-X", CHAIN, check=False)
        _iptables("-A", CHAIN, "-j", "RETURN")
        undo.callback(_iptables, "-F", CHAIN, check=False)
        _iptables("-A", *JUMP)
        undo.callback(_iptables, "-D", *JUMP, check=False)
        kubelet = folder / "kubelet"
        shutil.copy("/bin/sleep", kubelet)
        process = subprocess.Popen([kubelet, "900"])
        undo.callback(process.wait)
        undo.callback(process.kill)
        yield process


@pytest.mark.before_cluster
def test_up_refuses_beside_another_kubernetes_and_down_leaves_it_alone(tmp_path: Path) -> None:
    """Marked ``before_cluster``: it runs before the session's shared cluster starts
    (tests/k8s/conftest.py), not after the teardown test. The stand-in must be the only
    Kubernetes here, and this test's `down` must not stop questlog's cluster: so it is
    before the session's `up`, and not after a teardown that may have failed. And if any
    part of the stand-in were left, that `up` would refuse at once."""
    node = Node()
    assert not node.state_dir.exists(), f"questlog's cluster is up ({node.state_dir})"
    with another_kubernetes(tmp_path) as kubelet:
        try:
            up = _questlog("k8s", "up")
        finally:
            down = _questlog("k8s", "down")
        assert up.returncode != 0, f"up started beside another Kubernetes:\n{up.stdout}"
        for sign in (
            f"a kubelet process (pid {kubelet.pid}, {tmp_path / 'kubelet'})",
            f"the folder {KUBELET_FOLDER}",
            f"the iptables filter chain {CHAIN}",
        ):
            assert sign in up.stderr, f"the refusal does not name {sign}:\n{up.stderr}"
        assert not node.state_dir.exists(), "up made its state folder before it refused"
        assert down.returncode == 0, down.stderr
        assert kubelet.poll() is None, "down stopped the other kubelet"
        assert MARKER.exists(), f"down removed {MARKER}"
        assert _iptables("-C", *JUMP, check=False).returncode == 0, "down removed the jump"
        chain = _iptables("-S", CHAIN, check=False).stdout.splitlines()
        assert chain == [f"-N {CHAIN}", f"-A {CHAIN} -j RETURN"], "down changed the chain"

"""The cluster's certificates, made with openssl: one CA, the API server's serving
certificate, a client certificate per component (Kubernetes reads the user from the common
name and the groups from the organisation), and the service-account signing key."""

import subprocess
from pathlib import Path

from questlog.k8s import API_SERVICE_IP, NODE_NAME, Node

# name -> (common name, organisation or ""): the identities the cluster's RBAC knows.
CLIENTS = {
    "admin": ("questlog-admin", "system:masters"),
    "kubelet": (f"system:node:{NODE_NAME}", "system:nodes"),
    "controller-manager": ("system:kube-controller-manager", ""),
    "scheduler": ("system:kube-scheduler", ""),
    "kube-proxy": ("system:kube-proxy", ""),
    # The API server's identity towards the kubelet (logs, exec, port-forward).
    "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", "system:masters"),
}
DAYS = "3650"
# A configuration with no default extensions: openssl's own marks every `req -x509`
# certificate a CA. Each certificate gets exactly the extensions given with it.
CONFIG = "[req]\ndistinguished_name = subject\n[subject]\n"


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _certificate(pki: Path, *args: str) -> None:
    _openssl("req", "-config", str(pki / "openssl.cnf"), "-x509", "-newkey", "rsa:2048",
             "-nodes", "-days", DAYS, *args)  # fmt: skip


def _signed(pki: Path, name: str, subject: str, extensions: list[str]) -> None:
    """A key and a certificate for it, signed by the cluster's CA."""
    extension_args = [arg for extension in extensions for arg in ("-addext", extension)]
    _certificate(
        pki, "-CA", str(pki / "ca.crt"), "-CAkey", str(pki / "ca.key"),
        "-keyout", str(pki / f"{name}.key"), "-out", str(pki / f"{name}.crt"),
        "-subj", subject, *extension_args,
    )  # fmt: skip


def create(node: Node) -> None:
    """Every certificate and key the cluster needs, unless they exist from an earlier run."""
    pki = node.pki
    if (pki / "sa.pub").exists():
        return
    pki.mkdir(parents=True, exist_ok=True)
    (pki / "openssl.cnf").write_text(CONFIG)
    _certificate(
        pki, "-keyout", str(pki / "ca.key"), "-out", str(pki / "ca.crt"),
        "-subj", "/CN=questlog-cluster-ca",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    names = "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
    names += f",DNS:kubernetes.default.svc.cluster.local,IP:{API_SERVICE_IP},IP:{node.address}"
    _signed(pki, "apiserver", "/CN=kube-apiserver", [f"subjectAltName={names}"])
    # The kubelet serves logs and exec to the API server on the node's address.
    _signed(pki, "kubelet-serving", f"/CN={NODE_NAME}", [f"subjectAltName=IP:{node.address}"])
    for name, (common_name, organisation) in CLIENTS.items():
        subject = f"/CN={common_name}" + (f"/O={organisation}" if organisation else "")
        _signed(pki, name, subject, ["extendedKeyUsage=clientAuth"])
    _openssl("genrsa", "-out", str(pki / "sa.key"), "2048")
    _openssl("rsa", "-in", str(pki / "sa.key"), "-pubout", "-out", str(pki / "sa.pub"))

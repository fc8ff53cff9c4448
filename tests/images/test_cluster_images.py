"""The images the cluster itself runs, started with Docker: CoreDNS answers DNS over UDP with
the cluster DNS plugins and refuses a Corefile that would send queries elsewhere; the
local-path provisioner runs, and its image runs the helper pod's setup and teardown
scripts."""

import io
import random
import re
import socket
import struct
import tarfile
import time
import urllib.error
import urllib.request

import docker
import pytest
from docker.models.containers import Container

from questlog.images import image_tag
from questlog.settings import REPO_ROOT
from tests.images.conftest import BuildRun, Containers, log


def coredns_directives() -> set[str]:
    """The plugins a Corefile may name: the directives images/coredns/main.go sets."""
    main_go = (REPO_ROOT / "images" / "coredns" / "main.go").read_text()
    found = re.search(r"Directives = \[\]string\{(.*?)\}", main_go, re.S)
    assert found, "images/coredns/main.go sets no dnsserver.Directives"
    return set(re.findall(r'"(\w+)"', found[1]))


# Registered by packages the kubernetes plugin imports; no Corefile can name them.
COREDNS_LIBRARIES = {"metadata", "transfer"}
# Every plugin kept but kubernetes (which needs an API server); `hosts` answers. Port
# 1053, as the cluster's Corefile has it (its Service maps 53 there).
COREFILE = """\
.:1053 {
    errors
    log
    health
    ready
    prometheus :9153
    cache 30
    loadbalance
    loop
    reload
    hosts {
        10.96.0.42 probe.questlog.test
    }
}
"""
# The setup and teardown scripts of the provisioner's ConfigMap, as kind's default has
# them; the helper pod runs them with `sh`, its folder in VOL_DIR.
SETUP = 'set -eu\nmkdir -m 0777 -p "$VOL_DIR"\n'
TEARDOWN = 'set -eu\nrm -rf "$VOL_DIR"\n'


def archive(files: dict[str, str]) -> bytes:
    """A tar of ``files`` (path: text), readable by anyone, for ``put_archive``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def start_with(
    engine: docker.DockerClient, image: str, files: dict[str, str], **options: object
) -> Container:
    """A container of ``image`` started with ``files`` put in it first."""
    container = engine.containers.create(image_tag(image), detach=True, **options)
    container.put_archive("/", archive(files))
    container.start()
    return container


def host_port(container: Container, port: str) -> int:
    """The port on 127.0.0.1 where ``container``'s ``port`` ("1053/udp") is published."""
    container.reload()
    (binding,) = container.attrs["NetworkSettings"]["Ports"][port]
    return int(binding["HostPort"])


def dns_query(port: int, name: str) -> tuple[int, list[str]]:
    """Ask 127.0.0.1:``port`` over UDP for the A records of ``name``: the response code and
    the addresses answered. A query of RFC 1035 built by hand, recursion desired."""
    ident = random.randrange(1 << 16)
    question = b"".join(bytes([len(label)]) + label.encode() for label in name.split("."))
    question += b"\x00" + struct.pack("!HH", 1, 1)  # type A, class IN
    query = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + question
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(2)
        client.sendto(query, ("127.0.0.1", port))
        response = client.recv(4096)
    answer_id, flags, _, answers = struct.unpack("!HHHH", response[:8])
    assert answer_id == ident and flags & 0x8000, response
    offset, addresses = 12 + len(question), []
    for _ in range(answers):
        offset = past_name(response, offset)
        kind, _, _, length = struct.unpack("!HHIH", response[offset : offset + 10])
        data = response[offset + 10 : offset + 10 + length]
        if kind == 1:
            addresses.append(socket.inet_ntoa(data))
        offset += 10 + length
    return flags & 0xF, addresses


def past_name(message: bytes, offset: int) -> int:
    """Where the name at ``offset`` of a DNS message ends: labels up to the root, or up to a
    pointer (two bytes) to a name written before."""
    while message[offset] and message[offset] & 0xC0 != 0xC0:
        offset += 1 + message[offset]
    return offset + (2 if message[offset] else 1)


@pytest.fixture(scope="module")
def coredns(engine: docker.DockerClient, containers: Containers) -> Container:
    """CoreDNS as its non-root user, with the kernel's lowest unprivileged port as the
    cluster's pods have it, not Docker's (which lets any user bind any port)."""
    container = start_with(
        engine,
        "coredns",
        {"etc/coredns/Corefile": COREFILE},
        ports={
            "1053/udp": ("127.0.0.1", None),
            "8181/tcp": ("127.0.0.1", None),
            "9153/tcp": ("127.0.0.1", None),
        },
        sysctls={"net.ipv4.ip_unprivileged_port_start": "1024"},
    )
    containers.started.append(container)
    containers.wait_healthy(container, timeout=60)
    return container


def http_get(container: Container, port: str, path: str) -> str:
    url = f"http://127.0.0.1:{host_port(container, port)}{path}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                body: bytes = response.read()
                return body.decode()
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_coredns_answers_over_udp_from_the_plugins_kept(coredns: Container) -> None:
    port = host_port(coredns, "1053/udp")
    assert dns_query(port, "probe.questlog.test") == (0, ["10.96.0.42"]), log(coredns)
    # A name nobody gave it: answered here, asked of no server elsewhere (SERVFAIL: hosts
    # has no SOA for an NXDOMAIN).
    assert dns_query(port, "example.com") == (2, [])
    assert http_get(coredns, "8181/tcp", "/ready").strip() == "OK"
    metrics = http_get(coredns, "9153/tcp", "/metrics")
    assert "coredns_dns_requests_total{" in metrics and 'zone="."' in metrics
    assert "probe.questlog.test" in log(coredns)  # the log plugin, one line a query


def test_coredns_has_the_cluster_dns_plugins_and_no_forward(engine: docker.DockerClient) -> None:
    listed = engine.containers.run(image_tag("coredns"), ["-plugins"], remove=True).decode()
    plugins = set(listed.split())
    assert "forward" not in plugins
    assert plugins == coredns_directives() | COREDNS_LIBRARIES


@pytest.mark.parametrize("directive", ["forward . 127.0.0.1", "transfer"])
def test_coredns_refuses_a_corefile_naming_a_plugin_not_kept(
    engine: docker.DockerClient, images: BuildRun, directive: str
) -> None:
    corefile = COREFILE.replace("    errors\n", f"    errors\n    {directive}\n")
    container = start_with(engine, "coredns", {"etc/coredns/Corefile": corefile})
    try:
        assert container.wait(timeout=60)["StatusCode"] != 0
        name = directive.split()[0]
        assert f"Unknown directive '{name}'" in log(container)
    finally:
        container.remove(force=True)


def test_local_path_provisioner_runs_its_release(
    engine: docker.DockerClient, images: BuildRun
) -> None:
    image = image_tag("local-path-provisioner")
    version = engine.containers.run(image, ["--version"], remove=True).decode()
    assert version.strip() == "local-path-provisioner version v0.0.30"
    usage = engine.containers.run(image, ["start", "--help"], remove=True).decode()
    for flag in ("--config", "--helper-image", "--helper-pod-file", "--configmap-name"):
        assert flag in usage, usage


def test_local_path_provisioner_image_runs_the_helper_pod_scripts(
    engine: docker.DockerClient, images: BuildRun
) -> None:
    """As the helper pod runs them: `sh /script/setup` (and teardown) with the provisioner's
    arguments and VOL_DIR, as root (the node's folder above the volume is root's)."""
    volume = "/opt/local-path-provisioner/pvc-1_default_data"
    arguments = ["-p", volume, "-s", "1073741824", "-m", "Filesystem"]
    script = (
        'sh /script/setup "$@" -a create && stat -c %a "$VOL_DIR" && touch "$VOL_DIR/data" && '
        'sh /script/teardown "$@" -a delete && ! test -e "$VOL_DIR" && echo removed'
    )
    container = start_with(
        engine,
        "local-path-provisioner",
        {"script/setup": SETUP, "script/teardown": TEARDOWN},
        entrypoint=["/bin/sh", "-c", script, "helper"],
        command=arguments,
        environment={"VOL_DIR": volume, "VOL_MODE": "Filesystem", "VOL_SIZE_BYTES": "1073741824"},
        user="0",
    )
    try:
        result = container.wait(timeout=60)
        assert (result["StatusCode"], log(container).split()) == (0, ["777", "removed"])
    finally:
        container.remove(force=True)

"""What every image is, whatever it runs: built by `make images` with its size printed,
rebuilt from Docker's cache when nothing changed, run by a non-root user with a health
check, and free of the CA bundle its build stages trusted and of package caches."""

import re
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import certifi
import docker
import pytest
import yaml
from docker.errors import NotFound
from docker.models.containers import Container

from questlog.images import IMAGES, image_tag
from questlog.images.bases import STANDIN_REPOSITORY
from questlog.images.build import build, summary
from questlog.settings import get_settings
from tests.charts.conftest import built, documents  # noqa: F401 (built: a fixture)
from tests.images.conftest import BuildRun

RUNNING = [image.name for image in IMAGES if not image.builder]
# Images that serve: not the load generator, which runs to its end, nor the local-path
# provisioner, a controller that serves no port and so has no health to check.
SERVING = [name for name in RUNNING if name not in ("loadtest", "local-path-provisioner")]
PEM = re.compile(rb"-----BEGIN CERTIFICATE-----\n(.+?)\n-----END CERTIFICATE-----", re.S)


def test_make_images_builds_every_image_and_prints_its_size(images: BuildRun) -> None:
    table = summary(images.built)
    assert [b.tag for b in images.built] == [image.tag for image in IMAGES]
    for image in IMAGES:
        (row,) = [line for line in table if line.startswith(image.tag + " ")]
        assert re.search(r"\s\d+ MB\s", row), row
    assert re.fullmatch(rf"{len(IMAGES)} images, \d+\.\d\d GB in all", table[-1])


def test_a_rebuild_with_nothing_changed_takes_every_step_from_the_cache(images: BuildRun) -> None:
    again = build(get_settings(), say=lambda line: None)
    assert [(b.tag, b.steps - b.cached) for b in again] == [(b.tag, 0) for b in again]


def test_where_no_registry_serves_a_base_a_stand_in_is_built_and_said(images: BuildRun) -> None:
    """This machine reaches no container registry: every base is a stand-in, and the build's
    output says so."""
    bases = {base for b in images.built for base in b.bases if not base.startswith("questlog/")}
    assert bases and all(base.startswith(f"{STANDIN_REPOSITORY}/") for base in bases)
    said = "\n".join(images.said)
    assert "no registry serves it here" in said
    assert re.search(r"stand-in questlog-standin/python:bookworm for python:3\.11", said)


@pytest.mark.parametrize("name", RUNNING)
def test_runs_as_a_user_other_than_root(engine: docker.DockerClient, name: str) -> None:
    user = engine.images.get(image_tag(name)).attrs["Config"]["User"]
    assert user not in ("", "0", "root"), user


@pytest.mark.parametrize("name", SERVING)
def test_has_a_health_check(engine: docker.DockerClient, name: str) -> None:
    check = engine.images.get(image_tag(name)).attrs["Config"].get("Healthcheck") or {}
    assert check.get("Test", ["NONE"])[0] == "CMD", check


def certificates(data: bytes) -> set[bytes]:
    return set(PEM.findall(data))


def read_file(container: Container, path: str) -> bytes:
    """The file at ``path`` in the container; empty if there is none."""
    try:
        chunks, _ = container.get_archive(path)
    except NotFound:
        return b""
    with tarfile.open(fileobj=Chunks(chunks), mode="r|") as archive:
        for member in archive:
            extracted = archive.extractfile(member)
            if extracted is not None:
                return extracted.read()
    return b""


# What a build leaves when it is not cleaned up: package lists and caches, and the build
# stage's tools and context.
LEFTOVERS = re.compile(
    r"^(var/lib/apt/lists/[^/]+_|var/cache/apt/(archives/[^/]+\.deb|[^/]+\.bin)$"
    r"|root/\.cache/|opt/uv/|build/)"
)


# The workspace's Python packages each Python image has: those it runs, and no other.
SERVICE = {"questlog", "questlog_catalog", "questlog_settings"}
PACKAGES = {
    "ingest-api": SERVICE | {"questlog_ingest"},
    "registry": SERVICE | {"questlog_registry"},
    "loadtest": SERVICE | {"questlog_ingest"},
    "spark": SERVICE | {"questlog_spark"},
    "kafka": SERVICE,
    "trino": SERVICE,
    "prometheus": SERVICE,
}


def test_every_python_image_is_listed_with_its_packages() -> None:
    assert set(PACKAGES) == {i.name for i in IMAGES if i.stage == "python" and not i.builder}


@pytest.mark.parametrize("name", PACKAGES)
def test_has_only_the_packages_it_runs(engine: docker.DockerClient, name: str) -> None:
    listing = engine.containers.run(
        image_tag(name), entrypoint=["ls", "/opt/questlog/app"], command=[], remove=True
    )
    assert set(listing.decode().split()) == PACKAGES[name]


@pytest.mark.parametrize("name", [image.name for image in IMAGES])
def test_keeps_no_package_cache_and_no_certificate_only_the_build_trusted(
    engine: docker.DockerClient, images: BuildRun, name: str
) -> None:
    """Every file of the image is searched for the certificates of the build's CA bundle
    that no public trust store has (Debian's, as the Python base has it, nor certifi's):
    here, the TLS-intercepting proxy's. And no package list, package cache or build tool is
    left."""
    (python_base,) = next(b.bases for b in images.built if b.tag == image_tag("python-build"))
    base = engine.containers.create(python_base, entrypoint=["true"], command=[])
    public = certificates(read_file(base, "/etc/ssl/certs/ca-certificates.crt"))
    base.remove(v=True)
    public |= certificates(Path(certifi.where()).read_bytes())
    private = certificates(Path(get_settings().images.build_ca_bundle).read_bytes()) - public
    container = engine.containers.create(image_tag(name), entrypoint=["true"], command=[])
    try:
        assert private, "the build's CA bundle adds no certificate here: this test shows nothing"
        with tarfile.open(fileobj=Chunks(container.export()), mode="r|") as files:
            for member in files:
                assert not LEFTOVERS.match(member.name), f"{member.name} is left from the build"
                extracted = files.extractfile(member) if member.isfile() else None
                if extracted is not None:
                    assert not holds(extracted, private), f"{member.name} holds one of them"
    finally:
        container.remove(v=True)


def holds(file: IO[bytes], patterns: set[bytes]) -> bool:
    """Whether ``file`` holds any of ``patterns``, read a block at a time."""
    overlap = max(len(p) for p in patterns)
    tail = b""
    while block := file.read(1 << 24):
        window = tail + block
        if any(pattern in window for pattern in patterns):
            return True
        tail = window[-overlap:]
    return False


class Chunks:
    """A file object reading the chunks of bytes Docker streams."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = iter(chunks)
        self.buffer = bytearray()

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.buffer) < size:
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            self.buffer += chunk
        size = len(self.buffer) if size < 0 else size
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data


def test_the_spark_image_has_every_jar_the_download_cache_gave_it(
    engine: docker.DockerClient,
) -> None:
    """The Kafka connector and the metastore's driver that the local stack runs, and S3A."""
    listing = engine.containers.run(
        image_tag("spark"), ["ls", "/opt/spark/jars"], remove=True
    ).decode()
    jars = set(listing.split())
    (spark,) = [image for image in IMAGES if image.name == "spark"]
    for _, folder in spark.cache:
        wanted = {jar.name for jar in (get_settings().cache_dir / folder).glob("*.jar")}
        assert wanted and wanted <= jars, f"{folder}: {sorted(wanted - jars)} missing"


@pytest.mark.usefixtures("built")
def test_the_charts_run_files_the_spark_image_has(engine: docker.DockerClient) -> None:
    """The programs and apps the Spark image's pods are given, in the image."""
    rendered = "\n".join(
        yaml.safe_dump(doc)
        for chart in ("questlog-stream", "questlog-metastore")
        for doc in documents(chart)
    )
    paths = set(re.findall(r"local://(/\S+?\.py)", rendered))
    paths |= set(re.findall(r"^\s*- (/opt/[^\s:*]+)$", rendered, re.M))
    assert len(paths) >= 5, paths
    engine.containers.run(image_tag("spark"), ["ls", "-d", *sorted(paths)], remove=True)

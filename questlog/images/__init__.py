"""questlog's container images: what each is built from, and `make images`, which builds them.

Each image has a Dockerfile in the repository and a build context assembled here, of exactly
what it copies: the lock and the sources for the Python environment, the slice of the
download cache its component runs from (the very artifacts the local stack runs), and the
build's CA bundle, which only build stages read. The official base images are the
Dockerfiles' ``*_IMAGE`` build arguments; where no registry serves one, a stand-in built
from Debian's packages takes its place (``questlog.images.bases``).
"""

import re
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from questlog.settings import REPO_ROOT

# Build arguments that name a base image: `ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm`.
BASE_ARG = re.compile(r"^ARG (\w+_IMAGE)(?:=(\S+))?$", re.M)


@dataclass(frozen=True)
class Image:
    name: str
    dockerfile: str
    summary: str
    # The build stage it has: "python" (from the python-build image: images/python-env.sh
    # builds questlog's environment from the lock), "go" (images/go-build.sh builds a Go
    # module), or none.
    stage: str | None = None
    # The extras of pyproject.toml whose locked requirements its environment has, and
    # whose packages of the workspace it copies.
    extras: tuple[str, ...] = ()
    # Repository paths the Dockerfile copies, as they are.
    files: tuple[str, ...] = ()
    # (context folder, download-cache folder) pairs; pairs with one context folder merge.
    cache: tuple[tuple[str, str], ...] = ()
    # questlog images it is built on, passed as the build argument <NAME>_IMAGE.
    needs: tuple[str, ...] = ()
    # A build stage other images start from, which runs nothing itself.
    builder: bool = False

    @property
    def built_on(self) -> tuple[str, ...]:
        """The questlog images it is built on: the Python build stage, and those it needs."""
        stage = ("python-build",) if self.stage == "python" else ()
        return stage + self.needs

    @property
    def tag(self) -> str:
        return image_tag(self.name)

    def base_args(self) -> dict[str, str]:
        """The Dockerfile's official base images, by build argument."""
        return base_args(REPO_ROOT / self.dockerfile)


def base_args(dockerfile: Path) -> dict[str, str]:
    """A Dockerfile's ``*_IMAGE`` build arguments that have a default: its official bases.
    (One without a default names a questlog image: see ``Image.built_on``.)"""
    return {arg: default for arg, default in BASE_ARG.findall(dockerfile.read_text()) if default}


def image_tag(name: str) -> str:
    return f"questlog/{name}:{version('questlog')}"


def need_arg(name: str) -> str:
    """The build argument naming questlog image ``name``: spark -> SPARK_IMAGE."""
    return f"{name.upper().replace('-', '_')}_IMAGE"


# In build order: an image comes after those it needs.
IMAGES = (
    Image(
        "python-build",
        "images/python-build/Dockerfile",
        "the Python images' build stage: their environment from the lock",
        builder=True,
    ),
    Image("ingest-api", "services/ingest/Dockerfile", "the ingest API", "python", extras=("api",)),
    Image(
        "registry",
        "services/registry/Dockerfile",
        "the pilot registry",
        "python",
        extras=("registry",),
    ),
    Image(
        "loadtest",
        "loadtest/Dockerfile",
        "the load generator (Locust and the scenarios)",
        "python",
        extras=("api", "load"),
        files=("loadtest",),
        needs=("ingest-api",),
    ),
    Image(
        "spark",
        "spark-apps/Dockerfile",
        "Spark, the streaming app, the batch jobs and the Hive Metastore",
        "python",
        extras=("spark",),
        files=("spark-apps/entrypoint.sh",),
        cache=(
            ("jars", "lib/spark-kafka"),
            ("jars", "lib/iceberg"),
            ("jars", "lib/metastore"),
            ("jars", "lib/object-store"),
        ),
    ),
    Image(
        "kafka",
        "images/kafka/Dockerfile",
        "Apache Kafka in KRaft mode",
        "python",
        extras=("component",),
        cache=(("cache/lib/kafka", "lib/kafka"),),
    ),
    Image(
        "trino",
        "images/trino/Dockerfile",
        "Trino with the hive and iceberg catalogs",
        "python",
        extras=("component", "trino"),
        cache=(("cache/trino", "trino"),),
    ),
    Image(
        "prometheus",
        "images/prometheus/Dockerfile",
        "Prometheus",
        "python",
        extras=("component",),
    ),
    Image(
        "postgresql",
        "images/postgresql/Dockerfile",
        "PostgreSQL, the metastore's and registry's database",
        files=("images/postgresql/entrypoint.sh",),
    ),
    Image(
        "versitygw",
        "images/versitygw/Dockerfile",
        "versitygw, the lake's S3-compatible object store",
        "go",
        files=("images/versitygw/entrypoint.sh",),
    ),
    Image(
        "spark-operator",
        "images/spark-operator/Dockerfile",
        "the Kubeflow spark-operator",
        "go",
        needs=("spark",),
    ),
    # The cluster's own: the images its DNS and its default StorageClass run.
    Image(
        "coredns",
        "images/coredns/Dockerfile",
        "CoreDNS with the cluster DNS plugins only (no forward: nothing beyond this machine)",
        # Its Go build is a module of questlog's own, not one from the proxy.
        files=("images/coredns",),
    ),
    Image(
        "local-path-provisioner",
        "images/local-path-provisioner/Dockerfile",
        "the local-path provisioner (the default StorageClass) and its helper pods",
        "go",
    ),
)


def find(name: str) -> Image:
    for image in IMAGES:
        if image.name == name:
            return image
    raise KeyError(name)

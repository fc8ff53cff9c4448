"""Fetches the Java components of the local stack, pinned, into the download cache.

Each bundle is an Ivy module file under ``ivy/`` naming pinned artifacts on Maven Central.
Apache Ivy (its jar ships inside pyspark, so nothing else is needed) resolves them with
their runtime dependencies into a cache and copies them into ``<cache>/lib/<bundle>``.
Ivy reads only Maven Central, never the extra repositories some POMs declare. A stamp
holding a digest of the module file makes a second run a no-op.
"""

import hashlib
import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from questlog.settings import Settings

IVY_DIR = Path(__file__).parent / "ivy"
# Where progress lines go (print, or a list in tests).
Say = Callable[[str], None]


class SetupError(RuntimeError):
    """A setup step failed; the message says which and what to do."""


def spark_home() -> Path:
    """``SPARK_HOME``, or else the Spark that ships inside pyspark (imported only here: the
    images that run no Spark have no pyspark)."""
    if home := os.environ.get("SPARK_HOME"):
        return Path(home)
    import pyspark

    return Path(pyspark.__file__).parent


def spark_jars() -> Path:
    """Spark's jars, the Hive Metastore's among them; Ivy's too."""
    return spark_home() / "jars"


def hadoop_version() -> str:
    """The Hadoop inside pyspark's jars (its S3A file system must be the same release)."""
    (client,) = spark_jars().glob("hadoop-client-api-*.jar")
    return client.stem.removeprefix("hadoop-client-api-")


def spark_minor() -> str:
    """The installed pyspark's minor release ("4.1"), which Iceberg's runtime is built for."""
    import pyspark

    return ".".join(pyspark.__version__.split(".")[:2])


@dataclass(frozen=True)
class Bundle:
    name: str
    summary: str
    values: dict[str, str] = field(default_factory=dict)
    # Leave out jars pyspark already has (the Spark connector's Spark and Hadoop jars).
    skip_pyspark_jars: bool = False

    def module(self) -> str:
        """The Ivy module file, with its ``${...}`` values filled in."""
        return Template((IVY_DIR / f"{self.name}.xml").read_text()).substitute(self.values)

    def digest(self) -> str:
        return hashlib.sha256(self.module().encode()).hexdigest()


# The stack's Kafka release: its broker's (ivy/kafka.xml) and Kafka Connect's worker's.
KAFKA_VERSION = "4.1.1"


def bundles(for_images: bool = False, for_bench: bool = False) -> list[Bundle]:
    """The local stack's bundles; ``for_images`` adds what only the images run,
    ``for_bench`` what only the benchmarks run (the peer the stream is measured against)."""
    import pyspark

    local = [
        Bundle("kafka", "Apache Kafka broker (KRaft)", {"kafka_version": KAFKA_VERSION}),
        Bundle(
            "spark-kafka",
            f"Spark {pyspark.__version__} Kafka connector",
            {"spark_version": pyspark.__version__},
            skip_pyspark_jars=True,
        ),
        Bundle(
            "iceberg",
            f"Apache Iceberg for Spark {spark_minor()} (~50 MB the first time)",
            {"spark_minor": spark_minor()},
        ),
        Bundle("metastore", "Hive Metastore JDBC driver for PostgreSQL"),
        Bundle(
            "trino",
            "Trino server, Hive and Iceberg connectors (~820 MB the first time)",
            {"plugins": " ".join(TRINO_PLUGINS)},
        ),
    ]
    images = [
        Bundle(
            "object-store",
            "Hadoop's S3A file system, for a lake on S3 (~650 MB the first time)",
            {"hadoop_version": hadoop_version()},
            skip_pyspark_jars=True,
        )
    ]
    bench = [
        Bundle(
            "kafka-connect",
            f"Kafka Connect {KAFKA_VERSION} worker",
            {"kafka_version": KAFKA_VERSION},
        ),
        Bundle(
            "iceberg-sink",
            "Apache Iceberg's Kafka Connect sink, Hive catalog (~150 MB the first time)",
            {"hadoop_version": hadoop_version()},
        ),
    ]
    return local + (images if for_images else []) + (bench if for_bench else [])


def lib_dir(settings: Settings, bundle: str) -> Path:
    return settings.cache_dir / "lib" / bundle


def trino_home(settings: Settings) -> Path:
    return settings.cache_dir / "trino"


def install(
    settings: Settings,
    java: str,
    say: Say = print,
    for_images: bool = False,
    for_bench: bool = False,
) -> None:
    """Fetch every bundle that is missing or whose pins changed."""
    for bundle in bundles(for_images, for_bench):
        target = lib_dir(settings, bundle.name)
        stamp = target / ".stamp"
        if stamp.exists() and stamp.read_text() == bundle.digest():
            say(f"  ok   {bundle.summary} (cached)")
            continue
        say(f"  get  {bundle.summary} ...")
        if target.exists():
            shutil.rmtree(target)
        _retrieve(java, settings, bundle, target, say)
        if bundle.skip_pyspark_jars:
            _drop_jars_pyspark_has(target)
        if bundle.name == "trino":
            _unpack_trino(target, trino_home(settings), say)
        stamp.write_text(bundle.digest())
        say(f"  ok   {bundle.summary}")


def _retrieve(java: str, settings: Settings, bundle: Bundle, target: Path, say: Say) -> None:
    module_file = settings.cache_dir / "ivy-modules" / f"{bundle.name}.xml"
    module_file.parent.mkdir(parents=True, exist_ok=True)
    module_file.write_text(bundle.module())
    (ivy_jar,) = spark_jars().glob("ivy-*.jar")
    command = [
        java,
        "-jar",
        str(ivy_jar),
        "-ivy",
        str(module_file),
        "-confs",
        "default",
        "-types",
        "jar",
        "bundle",
        "tar.gz",
        "-cache",
        str(settings.cache_dir / "ivy"),
        "-retrieve",
        f"{target}/[artifact]-[revision](-[classifier]).[ext]",
    ]
    log_path = settings.cache_dir / "logs" / f"setup-{bundle.name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            # Ivy prints "[SUCCESSFUL ] org#module;rev!file.ext (N ms)" per download.
            if match := re.search(r"\[SUCCESSFUL \] \S+!(\S+)", line):
                say(f"       downloaded {match.group(1)}")
        returncode = process.wait()
    if returncode != 0 or not target.exists():
        tail = "".join(log_path.read_text().splitlines(keepends=True)[-15:])
        raise SetupError(
            f"Could not fetch {bundle.summary} from Maven Central (exit {returncode}); is it "
            f"reachable? Full log: {log_path}\n{tail}"
        )


def _drop_jars_pyspark_has(target: Path) -> None:
    def artifact(jar: Path) -> str:
        return re.sub(r"-\d[^-]*(-[a-z]+)?\.jar$", "", jar.name)

    shipped = {artifact(jar) for jar in spark_jars().glob("*.jar")}
    for jar in target.glob("*.jar"):
        if artifact(jar) in shipped:
            jar.unlink()


# Trino's connectors; the local stack's Trino has one catalog per connector, named after it.
TRINO_PLUGINS = ("hive", "iceberg")


def _trino_needs(member: str) -> bool:
    """Whether a tarball member (``trino-server-476/lib/...``) is in lib/ or a kept plugin."""
    parts = member.split("/")
    return parts[1:2] == ["lib"] or (
        parts[1:2] == ["plugin"] and parts[2:3] in ([p] for p in TRINO_PLUGINS)
    )


def _unpack_trino(downloads: Path, home: Path, say: Say) -> None:
    """Unpack the server's ``lib/`` and connector plugins from its tarball into ``home``."""
    (tarball,) = downloads.glob("trino-server-*.tar.gz")
    say(f"       unpacking lib/ and the {', '.join(TRINO_PLUGINS)} plugins of {tarball.name}")
    staging = home.with_name("trino.unpacking")
    shutil.rmtree(staging, ignore_errors=True)
    with tarfile.open(tarball) as archive:
        wanted = [member for member in archive.getmembers() if _trino_needs(member.name)]
        archive.extractall(staging, members=wanted, filter="data")
    (root,) = staging.iterdir()
    shutil.rmtree(home, ignore_errors=True)
    root.rename(home)
    staging.rmdir()
    tarball.unlink()

import xml.etree.ElementTree as ET
from pathlib import Path

import pyspark
import pytest

from questlog.stack.install import (
    IVY_DIR,
    KAFKA_VERSION,
    Bundle,
    _drop_jars_pyspark_has,
    bundles,
    spark_jars,
)


def test_spark_connector_matches_installed_pyspark() -> None:
    (connector,) = (b for b in bundles() if b.name == "spark-kafka")
    (dependency,) = ET.fromstring(connector.module()).iter("dependency")
    assert dependency.get("name") == "spark-sql-kafka-0-10_2.13"
    assert dependency.get("rev") == pyspark.__version__


def test_iceberg_runtime_is_built_for_the_installed_spark() -> None:
    (iceberg,) = (b for b in bundles() if b.name == "iceberg")
    (dependency,) = ET.fromstring(iceberg.module()).iter("dependency")
    major, minor, _ = pyspark.__version__.split(".")
    assert dependency.get("name") == f"iceberg-spark-runtime-{major}.{minor}_2.13"


def test_s3a_matches_the_hadoop_inside_pyspark() -> None:
    (store,) = (b for b in bundles(for_images=True) if b.name == "object-store")
    (dependency,) = ET.fromstring(store.module()).iter("dependency")
    assert dependency.get("name") == "hadoop-aws"
    assert list(spark_jars().glob(f"hadoop-client-api-{dependency.get('rev')}.jar"))


def test_the_benchmarks_connect_worker_is_the_stacks_kafka_release() -> None:
    def revisions(name: str) -> set[str | None]:
        (bundle,) = (b for b in bundles(for_bench=True) if b.name == name)
        found = ET.fromstring(bundle.module()).iter("dependency")
        return {d.get("rev") for d in found if d.get("org") == "org.apache.kafka"}

    assert revisions("kafka-connect") == revisions("kafka") == {KAFKA_VERSION}


@pytest.mark.parametrize("module", sorted(IVY_DIR.glob("*.xml")), ids=lambda p: p.stem)
def test_every_dependency_is_pinned(module: Path) -> None:
    values = {
        "spark_version": "9.9.9",
        "spark_minor": "9.9",
        "hadoop_version": "9.9.9",
        "kafka_version": "9.9.9",
    }
    bundle = Bundle(module.stem, module.stem, {**values, "plugins": "hive"})
    revisions = [d.get("rev") for d in ET.fromstring(bundle.module()).iter("dependency")]
    assert revisions
    for revision in revisions:
        assert revision and revision[0].isdigit(), f"{module.name}: unpinned revision {revision!r}"


def test_digest_follows_the_pins() -> None:
    old = Bundle("spark-kafka", "connector", {"spark_version": "4.2.0"})
    new = Bundle("spark-kafka", "connector", {"spark_version": "4.2.1"})
    assert old.digest() == Bundle("spark-kafka", "again", {"spark_version": "4.2.0"}).digest()
    assert old.digest() != new.digest()


def test_jars_pyspark_ships_are_dropped(tmp_path: Path) -> None:
    shipped = sorted(spark_jars().glob("scala-library-*.jar"))
    assert shipped, "pyspark should ship scala-library"
    for name in [
        "kafka-clients-3.9.2.jar",
        "scala-library-2.13.99.jar",
        "commons-pool2-2.13.1.jar",
    ]:
        (tmp_path / name).touch()
    _drop_jars_pyspark_has(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "commons-pool2-2.13.1.jar",
        "kafka-clients-3.9.2.jar",
    ]

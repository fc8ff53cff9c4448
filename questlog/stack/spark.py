"""Running Spark jobs against the local stack: ``spark-submit`` with the Kafka connector's
and Iceberg's jars and the Hive Metastore as catalog, so the tables a job writes are the
tables Trino reads. The conf and environment are what a SparkApplication sets on
Kubernetes."""

import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit

from questlog_settings import SparkSettings, environment, narrow

from questlog.settings import Settings
from questlog.stack.install import lib_dir, spark_home

LOG_CONFIG = Path(__file__).parent / "templates" / "spark-log4j2.properties"

# The conf every run of the Spark apps has, here and on Kubernetes (where the
# SparkApplication and the table job set the same keys; tests/charts checks it).
PIPELINE_CONF = {
    "spark.sql.catalogImplementation": "hive",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    # Micro-batches are small: a few shuffle partitions, not 200 (fixed at a query's first
    # start, since its state is partitioned by it).
    "spark.sql.shuffle.partitions": "2",
    # No micro-batch only to move the dedup window on: the next batch with data does, and
    # an empty one would hold the cores when data arrives.
    "spark.sql.streaming.noDataMicroBatches.enabled": "false",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    # Apache Iceberg tables in the same metastore, beside the Hive tables the session
    # catalog keeps serving. Commits swap the table's metadata location in the metastore
    # (its alter_table compares and sets it, HIVE-26882) instead of taking a metastore lock,
    # which needs lock tables this metastore's schema lacks.
    "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
    "spark.sql.catalog.spark_catalog": "org.apache.iceberg.spark.SparkSessionCatalog",
    "spark.sql.catalog.spark_catalog.type": "hive",
    "spark.hadoop.iceberg.engine.hive.lock-enabled": "false",
}
# The bundles (questlog/stack/install.py) whose jars a Spark job loads.
SPARK_BUNDLES = ("spark-kafka", "iceberg")
# Keys whose values depend on where the stack runs; a deployment sets its own.
PLACED_CONF_KEYS = ("spark.hadoop.hive.metastore.uris", "spark.sql.warehouse.dir")


def s3a_properties(settings: Settings) -> dict[str, str]:
    """Hadoop's S3A settings for a lake on S3 (none for a lake on this machine); S3A reads
    the credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."""
    if not settings.lake.on_s3:
        return {}
    return {
        "fs.s3a.endpoint": settings.s3.endpoint,
        "fs.s3a.endpoint.region": settings.s3.region,
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": str(urlsplit(settings.s3.endpoint).scheme == "https"),
    }


def spark_conf(settings: Settings) -> dict[str, str]:
    # The Kafka connector's and Iceberg's jars where the download cache has them; the Spark
    # image has them in its jars folder instead.
    jars = [
        jar for bundle in SPARK_BUNDLES for jar in sorted(lib_dir(settings, bundle).glob("*.jar"))
    ]
    return {
        **PIPELINE_CONF,
        "spark.hadoop.hive.metastore.uris": settings.metastore.uri,
        "spark.sql.warehouse.dir": settings.lake.root,
        **{f"spark.hadoop.{key}": value for key, value in s3a_properties(settings).items()},
        **({"spark.jars": ",".join(str(jar) for jar in jars)} if jars else {}),
        # Local mode: the driver and its executors are one process, so on loopback rather
        # than the first network interface; and the stack's log config.
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}",
    }


def spark_environment(settings: Settings) -> dict[str, str]:
    # The job's Python is this one, which has pyspark and questlog_spark installed; it
    # reads the stack's values of the Spark apps' settings.
    return {
        "SPARK_HOME": str(spark_home()),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        **environment(narrow(settings, SparkSettings)),
    }


def spark_submit_command(settings: Settings, app: str, *args: str) -> list[str]:
    """``spark-submit`` of ``spark-apps/questlog_spark/<app>.py`` on a local Spark."""
    conf = [f"--conf={key}={value}" for key, value in spark_conf(settings).items()]
    return [
        str(spark_home() / "bin" / "spark-submit"),
        "--master",
        "local[2]",
        "--driver-memory",
        settings.spark.heap,
        *conf,
        # Found when it runs: the images that start other components lack the Spark apps.
        str(files("questlog_spark") / f"{app}.py"),
        *args,
    ]


def spark_submit(
    settings: Settings, app: str, *args: str, env: dict[str, str] | None = None
) -> None:
    """Run a Spark app to its end; ``env`` overrides its settings."""
    env = {**os.environ, **spark_environment(settings), **(env or {})}
    subprocess.run(spark_submit_command(settings, app, *args), check=True, env=env)

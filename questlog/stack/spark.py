"""Running Spark jobs against the local stack: ``spark-submit`` with the Kafka connector
jars and the Hive Metastore as catalog, so the tables a job writes are the tables Trino
reads. The conf and environment are what a SparkApplication sets on Kubernetes."""

import os
import subprocess
import sys
from pathlib import Path

import pyspark

from questlog.settings import REPO_ROOT, StackSettings
from questlog.stack.install import lib_dir

LOG_CONFIG = Path(__file__).parent / "templates" / "spark-log4j2.properties"

SPARK_APPS = REPO_ROOT / "spark-apps" / "questlog_spark"
SPARK_HOME = Path(pyspark.__file__).parent


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
}
# Keys whose values depend on where the stack runs; a deployment sets its own.
PLACED_CONF_KEYS = ("spark.hadoop.hive.metastore.uris", "spark.sql.warehouse.dir")


def spark_conf(settings: StackSettings) -> dict[str, str]:
    jars = sorted(lib_dir(settings, "spark-kafka").glob("*.jar"))
    return {
        **PIPELINE_CONF,
        "spark.hadoop.hive.metastore.uris": settings.metastore_uri,
        "spark.sql.warehouse.dir": settings.lake_dir.as_uri(),
        # Local only: the connector's jars (the Spark image has them in its jars folder),
        # the stack's address (loopback) rather than the first network interface, and the
        # stack's log config.
        "spark.jars": ",".join(str(jar) for jar in jars),
        "spark.driver.host": settings.host,
        "spark.driver.bindAddress": settings.host,
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}",
    }


def lake_environment(settings: StackSettings) -> dict[str, str]:
    """The Spark apps' settings (``questlog_spark.settings``) for this stack."""
    return {
        "QUESTLOG_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "QUESTLOG_LAKE_ROOT": settings.lake_dir.as_uri(),
        "QUESTLOG_CHECKPOINT_ROOT": (settings.state_dir / "data" / "stream").as_uri(),
        "QUESTLOG_STREAM_METRICS_HOST": settings.host,
        "QUESTLOG_STREAM_METRICS_PORT": str(settings.stream_metrics_port),
    }


def spark_environment(settings: StackSettings) -> dict[str, str]:
    # The job's Python is this one, which has pyspark and questlog_spark installed.
    return {
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_LOCAL_IP": settings.host,
        "PYSPARK_PYTHON": sys.executable,
        **lake_environment(settings),
    }


def spark_submit_command(settings: StackSettings, app: str, *args: str) -> list[str]:
    """``spark-submit`` of ``spark-apps/questlog_spark/<app>.py`` on a local Spark."""
    conf = [f"--conf={key}={value}" for key, value in spark_conf(settings).items()]
    return [
        str(SPARK_HOME / "bin" / "spark-submit"),
        "--master",
        "local[2]",
        "--driver-memory",
        settings.spark_heap,
        *conf,
        str(SPARK_APPS / f"{app}.py"),
        *args,
    ]


def spark_submit(
    settings: StackSettings, app: str, *args: str, env: dict[str, str] | None = None
) -> None:
    """Run a Spark app to its end; ``env`` overrides its settings."""
    env = {**os.environ, **spark_environment(settings), **(env or {})}
    subprocess.run(spark_submit_command(settings, app, *args), check=True, env=env)

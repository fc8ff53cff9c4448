"""Running Spark jobs against the local stack: ``spark-submit`` with the Kafka connector
jars and the Hive Metastore as catalog, so the tables a job writes are the tables Trino
reads. The conf is what a SparkApplication sets on Kubernetes."""

import os
import subprocess
import sys
from pathlib import Path

import pyspark

from questlog.settings import REPO_ROOT, StackSettings
from questlog.stack.install import lib_dir

LOG_CONFIG = Path(__file__).parent / "templates" / "spark-log4j2.properties"

SPARK_APPS = REPO_ROOT / "spark-apps" / "questlog_spark"


def spark_conf(settings: StackSettings) -> dict[str, str]:
    jars = sorted(lib_dir(settings, "spark-kafka").glob("*.jar"))
    return {
        "spark.jars": ",".join(str(jar) for jar in jars),
        "spark.sql.catalogImplementation": "hive",
        "spark.hadoop.hive.metastore.uris": settings.metastore_uri,
        "spark.sql.warehouse.dir": settings.lake_dir.as_uri(),
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        # Stay on the stack's address (loopback) rather than the first network interface.
        "spark.driver.host": settings.host,
        "spark.driver.bindAddress": settings.host,
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}",
    }


def spark_submit(settings: StackSettings, app: str, *args: str) -> None:
    """Run ``spark-apps/questlog_spark/<app>.py`` with ``args`` on a local Spark."""
    spark_home = Path(pyspark.__file__).parent
    conf = [f"--conf={key}={value}" for key, value in spark_conf(settings).items()]
    command = [
        str(spark_home / "bin" / "spark-submit"),
        "--master",
        "local[2]",
        *conf,
        str(SPARK_APPS / f"{app}.py"),
        *args,
    ]
    # The job's Python is this one, which has pyspark and questlog_spark installed.
    env = {
        **os.environ,
        "SPARK_HOME": str(spark_home),
        "SPARK_LOCAL_IP": settings.host,
        "PYSPARK_PYTHON": sys.executable,
    }
    subprocess.run(command, check=True, env=env)

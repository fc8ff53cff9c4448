"""One Spark session for every test: local, with the stack's conf (Hive Metastore catalog,
Kafka connector). It reaches the metastore only when a test uses the catalog, and such
tests also ask for the ``stack`` fixture, which starts it."""

from collections.abc import Iterator

import pytest
from pyspark.sql import SparkSession

from questlog.settings import get_settings
from questlog.stack.spark import spark_conf


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    builder = SparkSession.builder.master("local[2]").appName("questlog-tests")
    for key, value in spark_conf(get_settings()).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    yield session
    session.stop()

"""Unit tests need no JVM: one that starts Spark fails (tests/spark is where they go)."""

from collections.abc import Iterator

import pytest
from pyspark import SparkContext


@pytest.fixture(autouse=True)
def no_jvm() -> Iterator[None]:
    running = SparkContext._active_spark_context is not None  # started by an earlier test
    yield
    started = not running and SparkContext._active_spark_context is not None
    assert not started, "a unit test started Spark: it belongs in tests/spark"

"""The lake's files, on any Hadoop filesystem (file://, s3a://), as Spark reaches them: for
what Iceberg does not do itself (removing a table of the older layout)."""

from typing import Any

from pyspark.sql import SparkSession


class LakeFiles:
    """The lake's filesystem through Hadoop's FileSystem API, as Spark itself reaches it."""

    def __init__(self, spark: SparkSession, root: str) -> None:
        self._jvm: Any = spark._jvm
        self._fs = self._path(root).getFileSystem(spark._jsc.hadoopConfiguration())

    def _path(self, uri: str) -> Any:
        return self._jvm.org.apache.hadoop.fs.Path(uri)

    def names(self, uri: str) -> list[str]:
        """Names in a folder; empty when it does not exist."""
        path = self._path(uri)
        if not self._fs.exists(path):
            return []
        return sorted(status.getPath().getName() for status in self._fs.listStatus(path))

    def delete(self, uri: str) -> None:
        self._fs.delete(self._path(uri), True)

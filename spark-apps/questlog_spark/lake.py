"""The lake's files and their commit protocol, on any Hadoop filesystem (file://, s3a://).

A table's partition ``event_date=D`` lives in a version folder ``<table>/event_date=D/v<k>``
that the metastore points at. A micro-batch writes each (table, date) as one file in a
staging folder outside every table, then commits it by renaming it into the partition's
current folder as ``batch-<id>.snappy.parquet``: a single-file rename, so a reader sees the
whole file or none of it. A retried batch finds its file already there and commits nothing.
Compaction writes a new version folder and swaps the metastore's pointer, so readers see
the old files or the new ones, never both or neither. Commits and swaps hold the lake lock.
"""

import re
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession

BATCH_FILE = re.compile(r"^batch-(?P<batch>\d+)\.snappy\.parquet$")
COMPACTED_FILE = re.compile(r"^compacted-(?P<first>\d+)-(?P<last>\d+)\.snappy\.parquet$")
VERSION_DIR = re.compile(r"^v(?P<version>\d+)$")
# Written into a partition folder the metastore no longer points at.
SUPERSEDED = "_superseded"
LOCK_DATABASE = "questlog_locks"


def batch_file_name(batch_id: int) -> str:
    return f"batch-{batch_id:012d}.snappy.parquet"


def compacted_file_name(first: int, last: int) -> str:
    return f"compacted-{first:012d}-{last:012d}.snappy.parquet"


def batches_in(name: str) -> tuple[int, int] | None:
    """The range of micro-batches a data file holds, or None for any other file."""
    if match := BATCH_FILE.match(name):
        return int(match["batch"]), int(match["batch"])
    if match := COMPACTED_FILE.match(name):
        return int(match["first"]), int(match["last"])
    return None


def data_files(names: Iterable[str]) -> list[str]:
    return sorted(name for name in names if batches_in(name) is not None)


def last_batch(names: Iterable[str]) -> int:
    """The last micro-batch committed to a partition folder holding ``names``; -1 if none.
    Batches commit in order, so a retried batch is committed iff this is at least its id."""
    return max((r[1] for n in names if (r := batches_in(n)) is not None), default=-1)


def version_of(location: str) -> int:
    match = VERSION_DIR.match(location.rstrip("/").rsplit("/", 1)[-1])
    if match is None:
        raise ValueError(f"{location} is not a version folder (…/v<k>)")
    return int(match["version"])


def version_folder(parent: str, version: int) -> str:
    return f"{parent}/v{version}"


def partition_folder(table_uri: str, date: str, version: int = 0) -> str:
    return version_folder(f"{table_uri}/event_date={date}", version)


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

    def files(self, uri: str) -> list[tuple[str, int]]:
        """(uri, size) of the files in a folder."""
        path = self._path(uri)
        if not self._fs.exists(path):
            return []
        return [
            (status.getPath().toString(), status.getLen())
            for status in self._fs.listStatus(path)
            if status.isFile()
        ]

    def exists(self, uri: str) -> bool:
        return bool(self._fs.exists(self._path(uri)))

    def rename(self, source: str, target: str) -> None:
        self._fs.mkdirs(self._path(target).getParent())
        if not self._fs.rename(self._path(source), self._path(target)):
            raise OSError(f"could not rename {source} to {target}")

    def copy(self, source: str, target: str) -> None:
        util = self._jvm.org.apache.hadoop.fs.FileUtil
        conf = self._fs.getConf()
        if not util.copy(self._fs, self._path(source), self._fs, self._path(target), False, conf):
            raise OSError(f"could not copy {source} to {target}")

    def touch(self, uri: str) -> None:
        self._fs.create(self._path(uri), True).close()

    def delete(self, uri: str) -> None:
        self._fs.delete(self._path(uri), True)

    def modified(self, uri: str) -> float:
        """Seconds since the epoch."""
        return float(self._fs.getFileStatus(self._path(uri)).getModificationTime()) / 1000


def vacuum_versions(files: LakeFiles, parent: str, grace_seconds: float) -> int:
    """Delete the version folders under ``parent`` marked superseded more than
    ``grace_seconds`` ago (no query can still be reading them); how many."""
    deleted = 0
    for version in files.names(parent):
        marker = f"{parent}/{version}/{SUPERSEDED}"
        if (
            VERSION_DIR.match(version)
            and files.exists(marker)
            and time.time() - files.modified(marker) > grace_seconds
        ):
            files.delete(f"{parent}/{version}")
            deleted += 1
    return deleted


class LockBusy(TimeoutError):
    """The lake lock stayed taken."""


@contextmanager
def lake_lock(spark: SparkSession, ttl_seconds: float, wait_seconds: float = 300) -> Iterator[None]:
    """Hold the lake lock: a table in the metastore, whose creation is atomic there.

    A lock older than ``ttl_seconds`` belongs to a process that died holding it; it is
    broken. Holders keep it for seconds, far less than the TTL.
    """
    name = f"{LOCK_DATABASE}.lake"
    holder = uuid.uuid4().hex
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {LOCK_DATABASE}")
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            spark.sql(
                f"CREATE TABLE {name} (holder STRING) TBLPROPERTIES "
                f"('holder'='{holder}', 'expires_at'='{time.time() + ttl_seconds}')"
            )
            break
        except AnalysisException as error:
            if error.getCondition() != "TABLE_OR_VIEW_ALREADY_EXISTS":
                raise
        _break_if_stale(spark, name)
        if time.monotonic() > deadline:
            raise LockBusy(f"the lake lock ({name}) stayed taken for {wait_seconds:.0f} s")
        time.sleep(0.2)
    try:
        yield
    finally:
        spark.sql(f"DROP TABLE IF EXISTS {name}")


def _break_if_stale(spark: SparkSession, name: str) -> None:
    try:
        rows = spark.sql(f"SHOW TBLPROPERTIES {name}").collect()
    except AnalysisException:
        return  # released meanwhile
    properties = {row["key"]: row["value"] for row in rows}
    if float(properties.get("expires_at", "inf")) < time.time():
        spark.sql(f"DROP TABLE IF EXISTS {name}")

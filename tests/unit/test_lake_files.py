"""The lake's naming rules, which the exactly-once commit relies on."""

import os
import time
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from questlog_spark.lake import (
    SUPERSEDED,
    LakeFiles,
    batch_file_name,
    batches_in,
    compacted_file_name,
    data_files,
    last_batch,
    partition_folder,
    vacuum_versions,
    version_of,
)


def test_file_names_say_which_batches_they_hold() -> None:
    assert batches_in(batch_file_name(7)) == (7, 7)
    assert batches_in(compacted_file_name(3, 41)) == (3, 41)
    assert batches_in("part-00000-1234.c000.snappy.parquet") is None
    assert batches_in("_superseded") is None


def test_last_batch_of_a_partition_counts_compacted_files() -> None:
    names = [compacted_file_name(0, 40), batch_file_name(44), batch_file_name(42), "_SUCCESS"]
    assert last_batch(names) == 44
    assert last_batch(["_superseded"]) == -1
    assert data_files(names) == sorted(names[:3])


def test_batch_files_sort_in_batch_order() -> None:
    assert sorted([batch_file_name(10), batch_file_name(9)]) == [
        batch_file_name(9),
        batch_file_name(10),
    ]


def test_partition_versions() -> None:
    folder = partition_folder("s3a://lake/guild_joins", "2026-11-25", 3)
    assert folder == "s3a://lake/guild_joins/event_date=2026-11-25/v3"
    assert version_of(folder) == 3
    assert version_of(folder + "/") == 3
    with pytest.raises(ValueError, match="not a version folder"):
        version_of("file:///lake/guild_joins/event_date=2026-11-25")


def test_vacuum_deletes_only_versions_superseded_longer_than_the_grace_period(
    spark: SparkSession, tmp_path: Path
) -> None:
    for version in ("v0", "v1", "v2", "v3-not-a-version"):
        (tmp_path / version).mkdir()
    for version in ("v0", "v1", "v3-not-a-version"):
        (tmp_path / version / SUPERSEDED).touch()
    an_hour_ago = time.time() - 3600
    os.utime(tmp_path / "v0" / SUPERSEDED, (an_hour_ago, an_hour_ago))

    assert vacuum_versions(LakeFiles(spark, tmp_path.as_uri()), tmp_path.as_uri(), 1800) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v1", "v2", "v3-not-a-version"]

"""The compaction job: rewrites each partition holding many micro-batch files into one file.

A partition's files are rewritten into the next version folder (``v<k+1>``) while readers
and the streaming app go on using the current one. Then, under the lake lock, the files
the stream committed meanwhile are copied over, the old folder is marked superseded and the
metastore's location is switched to the new folder in one call: a query sees the old files
or the new ones, never both or neither. Old folders are deleted once no query can still be
reading them (``--grace-minutes`` after they were superseded).

    spark-submit compact.py [--table T] [--date YYYY-MM-DD] [--min-files N]
"""

import argparse
import time
from dataclasses import dataclass

from pyspark.sql import SparkSession

from questlog.catalog import load_catalog
from questlog_spark.lake import (
    SUPERSEDED,
    LakeFiles,
    batches_in,
    compacted_file_name,
    data_files,
    lake_lock,
    partition_folder,
    vacuum_versions,
    version_of,
)
from questlog_spark.schemas import PARTITION_COLUMN
from questlog_spark.settings import LakeSettings, get_lake_settings
from questlog_spark.tables import PARTITION_PREFIX, Partitions, Say, table_columns


@dataclass(frozen=True)
class Compacted:
    table: str
    date: str
    files_before: int
    location: str


class Compactor:
    def __init__(self, spark: SparkSession, settings: LakeSettings, say: Say = print) -> None:
        self.spark = spark
        self.settings = settings
        self.say = say
        self.files = LakeFiles(spark, settings.lake_root)
        self.partitions = Partitions(spark, settings)
        self.columns = table_columns(load_catalog(settings.catalog_dir))

    def compact(self, table: str, date: str, min_files: int = 2) -> Compacted | None:
        """Rewrite one partition into one file if it has at least ``min_files``."""
        location = self.partitions.location(table, date)
        if location is None:
            return None
        files = data_files(self.files.names(location))
        if len(files) < min_files:
            return None
        target = partition_folder(self.settings.table_uri(table), date, version_of(location) + 1)
        self.files.delete(target)  # what an interrupted run left
        self._rewrite(table, [f"{location}/{name}" for name in files], target)
        with lake_lock(self.spark, self.settings.lock_ttl_seconds):
            # The stream commits under the same lock: what it added since we listed is
            # copied (not moved: running queries may still read the old folder).
            for name in data_files(self.files.names(location)):
                if name not in files:
                    self.files.copy(f"{location}/{name}", f"{target}/{name}")
            self.files.touch(f"{location}/{SUPERSEDED}")
            self.partitions.move(table, date, target)
        self.say(f"compacted {table}/{PARTITION_PREFIX}{date}: {len(files)} files -> 1 ({target})")
        return Compacted(table, date, len(files), target)

    def _rewrite(self, table: str, sources: list[str], target: str) -> None:
        ranges = [r for name in sources if (r := batches_in(name.rsplit("/", 1)[-1]))]
        first, last = min(r[0] for r in ranges), max(r[1] for r in ranges)
        staging = f"{self.settings.staging_uri}/compact-{table}-{time.time_ns()}"
        (
            # The table's schema, so files written before a column was added read as null.
            self.spark.read.schema(self.columns[table])
            .parquet(*sources)
            .coalesce(1)
            .write.option("compression", "snappy")
            .parquet(staging)
        )
        (written,) = [uri for uri, _ in self.files.files(staging) if uri.endswith(".parquet")]
        self.files.rename(written, f"{target}/{compacted_file_name(first, last)}")
        self.files.delete(staging)

    def vacuum(self, table: str, grace_seconds: float) -> int:
        """Delete the table's superseded folders older than the grace period; how many."""
        table_uri = self.settings.table_uri(table)
        return sum(
            vacuum_versions(self.files, f"{table_uri}/{folder}", grace_seconds)
            for folder in self.files.names(table_uri)
            if folder.startswith(PARTITION_PREFIX)
        )

    def run(
        self, tables: list[str], date: str | None, min_files: int, grace_seconds: float
    ) -> list[Compacted]:
        done = []
        for table in tables:
            removed = self.vacuum(table, grace_seconds)
            if removed:
                self.say(f"deleted {removed} superseded folders of {table}")
            dates = [date] if date else self.partitions.dates(table)
            for day in dates:
                if result := self.compact(table, day, min_files):
                    done.append(result)
        return done


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", help="only this table (default: every table)")
    parser.add_argument("--date", help=f"only this {PARTITION_COLUMN} (default: every date)")
    parser.add_argument(
        "--min-files", type=int, default=2, help="compact partitions with at least this many files"
    )
    parser.add_argument(
        "--grace-minutes",
        type=float,
        default=30,
        help="keep superseded folders this long, for queries still reading them",
    )
    args = parser.parse_args(argv)
    settings = get_lake_settings()
    spark = SparkSession.builder.appName("questlog-compact").getOrCreate()
    compactor = Compactor(spark, settings)
    tables = [args.table] if args.table else sorted(compactor.columns)
    done = compactor.run(tables, args.date, args.min_files, args.grace_minutes * 60)
    files = sum(c.files_before for c in done)
    print(f"compacted {len(done)} partitions ({files} files into {len(done)})")
    spark.stop()


if __name__ == "__main__":
    main()

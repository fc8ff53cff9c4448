"""The maintenance job: Iceberg's own procedures on each of the lake's event tables.

1. ``rewrite_data_files``: a partition holding at least ``--min-files`` data files (the
   stream adds one per table and date each micro-batch) is rewritten into as few files as
   its size needs, in one commit. Readers and the stream go on meanwhile: a query reads
   the snapshot before the rewrite or after it, and the stream's appends do not conflict
   with it.
2. ``rewrite_manifests``: one manifest per stream commit becomes a few.
3. ``expire_snapshots``: snapshots older than ``--retain-hours`` go (never the last
   ``--retain-last``), and the files only they used; time travel reaches back that far.
4. ``remove_orphan_files``: files no snapshot knows (a write killed before its commit)
   older than ``--orphan-hours`` (at least 24, refused below: a younger file may belong to
   a commit in flight).

    spark-submit compact.py [--table T] [--date YYYY-MM-DD] [--min-files N] ...
"""

import argparse
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pyspark.errors import PySparkException
from pyspark.sql import SparkSession
from questlog_catalog import load_catalog
from questlog_settings import SparkSettings, get_spark_settings
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_fixed

from questlog_spark.compact_options import MIN_FILES, Retention, add_options
from questlog_spark.schemas import PARTITION_COLUMN
from questlog_spark.tables import Say, table_columns

CATALOG = "spark_catalog"
PROCEDURES = f"{CATALOG}.system"


@dataclass(frozen=True)
class Maintained:
    table: str
    files_rewritten: int
    files_added: int
    expired_files: int
    orphans_removed: int


def lost_to_a_commit_meanwhile(error: BaseException) -> bool:
    """A rewrite refused because a commit since it began replaced what it rewrote (the
    stream's appends merge manifests once there are enough)."""
    return "org.apache.iceberg.exceptions.ValidationException" in str(error)


def timestamp(hours_ago: float) -> str:
    moment = datetime.now(UTC) - timedelta(hours=hours_ago)
    return f"TIMESTAMP '{moment:%Y-%m-%d %H:%M:%S.%f}'"


class Maintainer:
    def __init__(self, spark: SparkSession, settings: SparkSettings, say: Say = print) -> None:
        self.spark = spark
        self.settings = settings
        self.say = say
        self.tables = sorted(table_columns(load_catalog(settings.lake.catalog_dir)))

    def _name(self, table: str) -> str:
        return f"'{CATALOG}.{self.settings.lake.database}.{table}'"

    def _call(self, procedure: str, **arguments: str) -> dict[str, int]:
        named = ", ".join(f"{name} => {value}" for name, value in arguments.items())
        (row,) = self.spark.sql(f"CALL {PROCEDURES}.{procedure}({named})").collect()
        return {key: int(value or 0) for key, value in row.asDict().items()}

    def compact(
        self, table: str, date: str | None = None, min_files: int = MIN_FILES
    ) -> tuple[int, int]:
        """Rewrite the table's partitions (or the one of ``date``) of at least ``min_files``
        files; (files rewritten, files written)."""
        arguments = {
            "table": self._name(table),
            "options": f"map('min-input-files', '{min_files}', 'rewrite-all', 'false')",
        }
        if date:
            arguments["where"] = f"\"{PARTITION_COLUMN} = '{date}'\""
        done = self._call("rewrite_data_files", **arguments)
        return done["rewritten_data_files_count"], done["added_data_files_count"]

    @retry(
        retry=retry_if_exception(lost_to_a_commit_meanwhile),
        stop=stop_after_attempt(5),
        wait=wait_fixed(1),
        reraise=True,
    )
    def rewrite_manifests(self, name: str) -> None:
        self._call("rewrite_manifests", table=name)

    def maintain(
        self, table: str, date: str | None, min_files: int, retention: Retention
    ) -> Maintained:
        name = self._name(table)
        rewritten, added = self.compact(table, date, min_files)
        self.rewrite_manifests(name)
        expired = self._call(
            "expire_snapshots",
            table=name,
            older_than=timestamp(retention.hours),
            retain_last=str(retention.last),
        )
        orphans = self.spark.sql(
            f"CALL {PROCEDURES}.remove_orphan_files(table => {name}, "
            f"older_than => {timestamp(retention.orphan_hours)})"
        ).count()
        done = Maintained(table, rewritten, added, expired["deleted_data_files_count"], orphans)
        self.say(
            f"{table}: {rewritten} data files rewritten into {added}, {done.expired_files} "
            f"data files of expired snapshots deleted, {orphans} orphan files removed"
        )
        return done


def maintain_every(spark: SparkSession, settings: SparkSettings, say: Say = print) -> None:
    """Maintain every event table each ``settings.lake.maintenance_minutes`` (with the defaults
    of ``main``), from a thread of this app, in its Spark session: the streaming app's, where
    nothing else schedules the job. A table whose maintenance fails is tried again the next
    round."""
    maintainer = Maintainer(spark, settings, say)
    minutes = settings.lake.maintenance_minutes

    def rounds() -> None:
        while True:
            time.sleep(minutes * 60)
            for table in maintainer.tables:
                try:
                    maintainer.maintain(table, None, MIN_FILES, Retention())
                except PySparkException as error:
                    say(f"{table}: maintenance failed, next round in {minutes:g} min: {error}")

    threading.Thread(target=rounds, name="maintenance", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    command = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args = add_options(command).parse_args(argv)
    settings = get_spark_settings()
    spark = SparkSession.builder.appName("questlog-compact").getOrCreate()
    maintainer = Maintainer(spark, settings)
    retention = Retention(args.retain_hours, args.retain_last, args.orphan_hours)
    done = [
        maintainer.maintain(table, args.date, args.min_files, retention)
        for table in ([args.table] if args.table else maintainer.tables)
    ]
    print(
        f"maintained {len(done)} tables: {sum(d.files_rewritten for d in done)} data files "
        f"rewritten into {sum(d.files_added for d in done)}"
    )
    spark.stop()


if __name__ == "__main__":
    main()

"""Tables a batch job rebuilds whole on each run, without readers ever seeing half of one.

A table's data lives in version folders ``<lake>/<table>/v<k>``, and the metastore points
the table at one of them. A run writes the new rows to a staging folder of its own. Then,
under the lake lock, it moves that folder to the table's next version, marks the folder it
replaces superseded and switches the table's location in one metastore call: a query
reads the old version or the new one, each whole. Superseded folders are deleted once no
query can still be reading them, after a grace period (see ``lake.vacuum_versions``).
"""

import uuid

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from questlog_spark.lake import (
    SUPERSEDED,
    VERSION_DIR,
    LakeFiles,
    lake_lock,
    vacuum_versions,
    version_folder,
    version_of,
)
from questlog_spark.settings import LakeSettings
from questlog_spark.tables import Say, ensure_table


class TableVersions:
    def __init__(self, spark: SparkSession, settings: LakeSettings, say: Say = print) -> None:
        self.spark = spark
        self.settings = settings
        self.say = say
        self.files = LakeFiles(spark, settings.lake_root)

    def _name(self, table: str) -> str:
        return f"`{self.settings.database}`.`{table}`"

    def location(self, table: str) -> str | None:
        """The version folder the metastore points the table at; None without the table."""
        if not self.spark.catalog.tableExists(f"{self.settings.database}.{table}"):
            return None
        rows = self.spark.sql(f"DESCRIBE TABLE EXTENDED {self._name(table)}").collect()
        return next(str(row["data_type"]) for row in rows if row["col_name"] == "Location")

    def stage(self, table: str, rows: DataFrame) -> str:
        """Write the table's new rows (snappy Parquet) to a staging folder; its URI."""
        folder = f"{self.settings.staging_uri}/{table}-{uuid.uuid4().hex}"
        rows.write.option("compression", "snappy").parquet(folder)
        return folder

    def _next_version(self, table: str, current: str | None) -> str:
        table_uri = self.settings.table_uri(table)
        versions = [
            version_of(name) for name in self.files.names(table_uri) if VERSION_DIR.match(name)
        ]
        if current is not None:
            versions.append(version_of(current))
        return version_folder(table_uri, max(versions, default=0) + 1)

    def publish(self, staged: dict[str, str], columns: dict[str, T.StructType]) -> dict[str, str]:
        """Make each table's staged folder its current version; the tables' new locations."""
        database = self.settings.database
        self.spark.sql(f"CREATE DATABASE IF NOT EXISTS `{database}`")
        published = {}
        with lake_lock(self.spark, self.settings.lock_ttl_seconds):
            for table, folder in staged.items():
                current = self.location(table)
                target = self._next_version(table, current)
                self.files.rename(folder, target)
                ensure_table(
                    self.spark,
                    database,
                    table,
                    columns[table],
                    target,
                    partitioned=False,
                    say=self.say,
                )
                if current is not None:
                    self.files.touch(f"{current}/{SUPERSEDED}")
                    self.spark.sql(f"ALTER TABLE {self._name(table)} SET LOCATION '{target}'")
                published[table] = target
        return published

    def vacuum(self, table: str, grace_seconds: float) -> int:
        """Delete the table's versions superseded longer than ``grace_seconds``; how many."""
        return vacuum_versions(self.files, self.settings.table_uri(table), grace_seconds)

"""Two writers committing to one Iceberg table at once, the way every writer of the lake
commits: without a metastore lock, by the metastore's compare-and-swap of the table's
metadata location. A commit that loses the race is refused by the metastore and retried by
Iceberg on the new metadata."""

import threading

from pyspark.sql import SparkSession
from questlog_spark.tables import ICEBERG_PROPERTIES

WRITERS, COMMITS, ROWS = ("a", "b"), 15, 10


def commit_concurrently(spark: SparkSession, table: str) -> None:
    """Create ``table`` (an Iceberg table with the lake's properties) and let two threads
    append ``COMMITS`` times each, every commit tagged in its snapshot summary with its
    writer and number."""
    spark.sql(
        f"CREATE TABLE {table} (writer STRING, commit INT, n BIGINT) USING iceberg "
        f"TBLPROPERTIES ({ICEBERG_PROPERTIES})"
    )
    errors: list[BaseException] = []

    def write(writer: str) -> None:
        try:
            for commit in range(COMMITS):
                (
                    spark.range(ROWS)
                    .selectExpr(f"'{writer}' AS writer", f"{commit} AS commit", "id AS n")
                    .writeTo(table)
                    .option("snapshot-property.questlog.writer", writer)
                    .option("snapshot-property.questlog.commit", str(commit))
                    .append()
                )
        except BaseException as error:  # re-raised in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=write, args=(writer,)) for writer in WRITERS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def assert_every_commit_landed_once(spark: SparkSession, table: str) -> None:
    expected = sorted((w, c) for w in WRITERS for c in range(COMMITS))
    snapshots = spark.sql(
        f"SELECT summary['questlog.writer'] AS w, int(summary['questlog.commit']) AS c "
        f"FROM {table}.snapshots"
    ).collect()
    assert sorted((row.w, row.c) for row in snapshots) == expected
    rows = spark.sql(
        f"SELECT writer, commit, count(*) AS n FROM {table} GROUP BY writer, commit"
    ).collect()
    assert sorted((row.writer, row.commit, row.n) for row in rows) == [
        (w, c, ROWS) for w, c in expected
    ]

"""``make bench-query``: querying the lake, measured on the local stack.

1. Trino against DuckDB on the very same Parquet files: ~1M ``sword_purchases`` rows over
   ten dates, one file per date, as compaction leaves them (Trino through the table's
   Iceberg metadata, DuckDB reading its data files). A point query (one
   ``event_id``) and a group-by (count, revenue and average strength per sword type); p50
   of each engine's runs after a warm-up, Trino through its client, DuckDB in process.
2. Small files: an hour of 10 s micro-batches (360 commits of one file in one date, as the
   stream makes them) queried by Trino, then the same table maintained by
   ``questlog_spark.compact`` and queried again; the ratio of the group-by's p50s.
3. Layout: the same rows as in 1 in the lake's layout (partitioned by ``event_date``)
   against an unpartitioned table and a table whose files are sorted by the group-by's
   column: Trino's p50 of the group-by (the report's kind of question: a whole table
   grouped) and of one day's count (an analyst's kind).

The tables live in databases of their own (``bench_query``, ``bench_files``) under the
lake, built with the streaming app's own table job and maintenance job.
"""

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from questlog_catalog import load_catalog
from questlog_settings import SparkSettings
from questlog_spark.compact import Maintainer
from questlog_spark.compact_options import Retention
from questlog_spark.lake import LakeFiles
from questlog_spark.schemas import PARTITION_COLUMN
from questlog_spark.tables import create_iceberg_table_sql, ensure_tables, table_columns

from bench import spark as bench_spark
from bench.figures import Figure, run_alone
from bench.stack import running_stack, settle
from questlog.settings import REPO_ROOT, Settings
from questlog.stack.probes import trino_query

TABLE = "sword_purchases"
BATCH = "_batch"
REPORT = REPO_ROOT / "reports" / "bench-query.md"
SWORDS = ["longsword", "broadsword", "katana", "rapier", "scimitar"]
GROUP_BY = (
    "SELECT sword_type, count(*) AS swords, sum(sword_cost) AS revenue, "
    "round(avg(strength), 3) AS strength FROM {table} GROUP BY sword_type ORDER BY sword_type"
)
POINT = "SELECT user_id, sword_type, sword_cost FROM {table} WHERE event_id = '{event_id}'"
ONE_DAY = "SELECT count(*), sum(sword_cost) FROM {table} WHERE event_date = DATE '{day}'"


def generated_rows(spark: SparkSession, rows: int, dates: list[str]) -> DataFrame:
    """``rows`` sword purchases with the table's exact columns, spread over ``dates``."""
    ids = F.col("id")
    values: dict[str, Column] = {
        "event_id": F.expr("uuid()"),
        "event_type": F.lit("purchase_sword"),
        "event_version": F.lit(1),
        "occurred_at": F.timestamp_seconds(F.lit(1_790_000_000) + ids % 864_000),
        "received_at": F.timestamp_seconds(F.lit(1_790_000_001) + ids % 864_000),
        "user_id": F.concat(F.lit("player-"), (ids % 1000).cast("string")),
        "host": F.lit("bench.example"),
        "user_agent": F.lit("questlog-bench"),
        "source": F.lit("bench"),
        "client_ip": F.lit("127.0.0.0"),
        "sword_type": F.element_at(F.array(*map(F.lit, SWORDS)), (ids % 5 + 1).cast("int")),
        "sword_cost": 90 + ids % 211,
        "strength": F.round(F.rand(7) * 10, 1),
    }
    values[PARTITION_COLUMN] = F.element_at(
        F.array(*map(F.lit, dates)), (ids % len(dates) + 1).cast("int")
    )
    columns = table_columns(load_catalog())[TABLE]
    if missing := [field.name for field in columns if field.name not in values]:
        raise SystemExit(f"bench: generated_rows makes no {', '.join(missing)} of {TABLE}")
    return spark.range(rows).select(
        *[values[field.name].cast(field.dataType).alias(field.name) for field in columns],
        (ids % 1_000_003).alias(BATCH),  # spread over any number of batches
    )


def land_as_batches(
    spark: SparkSession, settings: SparkSettings, frame: DataFrame, batches: int
) -> None:
    """Append ``frame`` to the table in ``batches`` commits of one file per date each, as
    the stream commits its micro-batches."""
    ensure_tables(spark, settings, say=lambda _: None)
    frame = frame.persist()
    for batch in range(batches):
        rows = frame.where(F.col(BATCH) % batches == batch).drop(BATCH)
        rows.repartition(PARTITION_COLUMN).writeTo(f"`{settings.lake.database}`.`{TABLE}`").append()
    frame.unpersist()


def p50(run: Callable[[], object], times: int) -> float:
    run()  # warm-up: metadata and file caches
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


@dataclass(frozen=True)
class QueryTimes:
    trino_point: float
    duckdb_point: float
    trino_group: float
    duckdb_group: float


def trino_vs_duckdb(stack: Settings, settings: SparkSettings, times: int) -> QueryTimes:
    table = f"hive.{settings.lake.database}.{TABLE}"
    ((event_id,),) = trino_rows(stack, f"SELECT min(event_id) FROM {table}")
    files = f"{settings.lake.table_uri(TABLE).removeprefix('file://')}/data/*/*.parquet"
    duck = duckdb.connect()
    duck.execute("SET threads = 2")
    parquet = f"read_parquet('{files}')"
    by_trino = trino_rows(stack, GROUP_BY.format(table=table))
    by_duckdb = [list(row) for row in duck.execute(GROUP_BY.format(table=parquet)).fetchall()]
    if by_duckdb != by_trino:
        raise SystemExit(f"bench: Trino and DuckDB disagree:\n{by_trino}\n{by_duckdb}")

    def trino(sql: str) -> Callable[[], object]:
        return lambda: trino_rows(stack, sql)

    def duckdb_run(sql: str) -> Callable[[], object]:
        return lambda: duck.execute(sql).fetchall()

    point = {"table": table, "event_id": event_id}
    duck_point = {"table": parquet, "event_id": event_id}
    return QueryTimes(
        trino_point=p50(trino(POINT.format(**point)), times),
        duckdb_point=p50(duckdb_run(POINT.format(**duck_point)), times),
        trino_group=p50(trino(GROUP_BY.format(table=table)), times),
        duckdb_group=p50(duckdb_run(GROUP_BY.format(table=parquet)), times),
    )


def trino_rows(stack: Settings, sql: str) -> list[list[object]]:
    return trino_query(stack.host, stack.trino.port, sql, timeout=120)


def small_files_vs_compacted(
    spark: SparkSession, stack: Settings, settings: SparkSettings, times: int
) -> tuple[float, float, int]:
    """p50 of the group-by after 360 micro-batch commits, then after maintenance."""
    table = f"hive.{settings.lake.database}.{TABLE}"
    sql = GROUP_BY.format(table=table)
    before = trino_rows(stack, sql)
    small = p50(lambda: trino_rows(stack, sql), times)
    done = Maintainer(spark, settings, say=lambda _: None).maintain(
        TABLE, None, 2, Retention(hours=0, last=1)
    )
    if done.files_added >= done.files_rewritten:
        raise SystemExit(f"bench: maintenance did not compact the table: {done}")
    if trino_rows(stack, sql) != before:
        raise SystemExit("bench: maintenance changed the query's answer")
    return small, p50(lambda: trino_rows(stack, sql), times), done.files_rewritten


@dataclass(frozen=True)
class LayoutTimes:
    """p50s of (group-by, one day's count) per layout."""

    by_day: tuple[float, float]
    unpartitioned: tuple[float, float]
    sorted_by_day: tuple[float, float]


def layouts(
    spark: SparkSession, stack: Settings, settings: SparkSettings, day: str, times: int
) -> LayoutTimes:
    """The lake's table of part 1 against the same rows unpartitioned, and by day with each
    file sorted by ``sword_type``; every layout must give the same answers."""
    database, lake = settings.lake.database, settings.lake.table_uri(TABLE)
    rows = spark.table(f"`{database}`.`{TABLE}`")
    flat, ordered = f"`{database}`.`{TABLE}_flat`", f"`{database}`.`{TABLE}_sorted`"
    spark.sql(create_iceberg_table_sql(flat, rows.schema, f"{lake}_flat"))
    spark.sql(create_iceberg_table_sql(ordered, rows.schema, f"{lake}_sorted", PARTITION_COLUMN))
    # One file, as maintenance leaves a table this size; one file per date, each sorted.
    rows.coalesce(1).writeTo(flat).append()
    by_date = rows.repartition(PARTITION_COLUMN)
    by_date = by_date.sortWithinPartitions(PARTITION_COLUMN, "sword_type")
    by_date.writeTo(ordered).option("distribution-mode", "none").append()

    def timed(table: str) -> tuple[float, float]:
        name = f"hive.{database}.{table}"
        queries = [GROUP_BY.format(table=name), ONE_DAY.format(table=name, day=day)]
        answers = [trino_rows(stack, sql) for sql in queries]
        if answers != expected:
            raise SystemExit(f"bench: {table} answers {answers}, the lake's table {expected}")
        return query_p50(queries[0]), query_p50(queries[1])

    def query_p50(sql: str) -> float:
        return p50(lambda: trino_rows(stack, sql), times)

    lake_table = f"hive.{database}.{TABLE}"
    expected = [
        trino_rows(stack, GROUP_BY.format(table=lake_table)),
        trino_rows(stack, ONE_DAY.format(table=lake_table, day=day)),
    ]
    return LayoutTimes(timed(TABLE), timed(f"{TABLE}_flat"), timed(f"{TABLE}_sorted"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows for Trino vs DuckDB")
    parser.add_argument("--batches", type=int, default=360, help="micro-batch files")
    parser.add_argument("--times", type=int, default=7, help="timed runs of each query")


# --quick: sizes that take seconds.
QUICK = {"rows": 20_000, "batches": 10, "times": 1}


def run(args: argparse.Namespace) -> list[Figure]:
    rows, batches, times = args.rows, args.batches, args.times
    stack = running_stack()
    settle(stack, args)
    spark = bench_spark.session(stack, "questlog-bench-query")
    lake = stack.lake.dir.as_uri()
    today = date.today()
    try:
        query = SparkSettings(lake={"database": "bench_query", "root": f"{lake}/bench_query"})
        files = SparkSettings(lake={"database": "bench_files", "root": f"{lake}/bench_files"})
        for settings in (query, files):  # what an earlier run left
            bench_spark.drop_tables(spark, settings.lake.database)
            LakeFiles(spark, lake).delete(settings.lake.root)
        print(f"\n1. Trino vs DuckDB: {rows:,} rows over 10 dates, one file each ...")
        dates = [(today - timedelta(days=d)).isoformat() for d in range(10)]
        land_as_batches(spark, query, generated_rows(spark, rows, dates), batches=1)
        q = trino_vs_duckdb(stack, query, times)
        print(f"\n2. An hour of micro-batches: {batches * 1000:,} rows in {batches} files ...")
        frame = generated_rows(spark, batches * 1000, [today.isoformat()])
        land_as_batches(spark, files, frame, batches)
        small, compacted, files_before = small_files_vs_compacted(spark, stack, files, times)
        print("\n3. Layouts: the rows of 1 by day, unpartitioned, and by day sorted ...")
        layout = layouts(spark, stack, query, dates[0], times)
    finally:
        spark.stop()
    ms = 1000
    return [
        Figure(
            f"query: Trino vs DuckDB, point query on {rows:,} rows (p50)",
            f"{q.trino_point * ms:.0f} ms vs {q.duckdb_point * ms:.0f} ms",
            q.trino_point / q.duckdb_point,
        ),
        Figure(
            f"query: Trino vs DuckDB, group-by on {rows:,} rows (p50)",
            f"{q.trino_group * ms:.0f} ms vs {q.duckdb_group * ms:.0f} ms",
            q.trino_group / q.duckdb_group,
        ),
        Figure(
            f"query: Trino group-by, {files_before} micro-batch commits vs maintained (p50)",
            f"{small * ms:.0f} ms vs {compacted * ms:.0f} ms",
            small / compacted,
            "<= 1.5x",
            small <= 1.5 * compacted,
        ),
        *layout_figures(layout),
    ]


def layout_figures(layout: LayoutTimes) -> list[Figure]:
    ms = 1000
    figures = []
    for name, (lake, other) in {
        "group-by": (layout.by_day[0], layout.unpartitioned[0]),
        "one day's count": (layout.by_day[1], layout.unpartitioned[1]),
    }.items():
        figures.append(
            Figure(
                f"query: Trino {name}, by day vs unpartitioned (p50)",
                f"{lake * ms:.0f} ms vs {other * ms:.0f} ms",
                lake / other,
            )
        )
    sorted_group, lake_group = layout.sorted_by_day[0], layout.by_day[0]
    figures.append(
        Figure(
            "query: Trino group-by, by day with files sorted by sword_type vs unsorted (p50)",
            f"{sorted_group * ms:.0f} ms vs {lake_group * ms:.0f} ms",
            sorted_group / lake_group,
        )
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    return run_alone(__doc__, add_arguments, run, REPORT, argv, QUICK)


if __name__ == "__main__":
    raise SystemExit(main())

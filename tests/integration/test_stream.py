"""The streaming app of the running stack, end to end: events posted to the ingest API (or
produced straight to Kafka) become typed rows Trino reads, bad records become dead letters,
repeated event ids are dropped, an event type added to the catalog gets its table, the
table job creates the Iceberg tables and moves a table of the older Parquet layout onto
Iceberg with its rows, and the stream maintains its tables on a schedule of its own."""

import json
import os
import random
import shutil
import subprocess
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import psutil
from pyspark.sql import SparkSession
from questlog_catalog import EVENTS_DIR, load_catalog
from questlog_ingest.game import ROUTES
from questlog_spark.attempts import TABLES as ASSESSMENT_TABLES
from questlog_spark.schemas import DEAD_LETTER_TABLE

from questlog.settings import Settings
from questlog.stack.components import Stream
from questlog.stack.probes import QueryFailed, prometheus_value
from questlog.stack.spark import spark_environment, spark_submit, spark_submit_command
from questlog.traffic import event_headers
from tests.helpers import Trino, eventually, publish, unique

CATALOG = load_catalog()
ATTRIBUTES = {route.event_type: route.attributes for route in ROUTES}


def test_posted_events_are_queryable_with_their_typed_values(stack: Settings, trino: Trino) -> None:
    user, agent, rng = unique("player"), unique("agent"), random.Random(7)
    # An event of every type, three days old: it lands in its own date and counts as late.
    occurred = "2026-11-20T10:00:00.250+02:00"
    events = [
        {"event_type": t, "user_id": user, "occurred_at": occurred, **ATTRIBUTES[t](rng)}
        for t in sorted(ATTRIBUTES)
    ]
    late_before = prometheus_value(Stream(stack).endpoint, "questlog_stream_late_events_total")
    response = httpx.post(
        f"{stack.api.url}/v1/events",
        json={"events": events},
        headers={**event_headers(agent), "Host": "game.example"},
    )
    assert response.status_code == 202, response.text
    ids = [a["event_id"] for a in response.json()["accepted"]]
    assert len(ids) == len(events)

    for event, event_id in zip(events, ids, strict=True):
        event_type = CATALOG[event["event_type"]]
        own = list(event_type.properties)
        columns = ", ".join(["event_id", "event_type", "occurred_at", "host", "user_agent", *own])
        eventually(
            trino,
            f"SELECT {columns}, event_date FROM hive.default.{event_type.table} "
            f"WHERE user_id = '{user}'",
            [
                [
                    event_id,
                    event_type.name,
                    datetime(2026, 11, 20, 8, 0, 0, 250000),  # UTC
                    "game.example",
                    agent,
                    *(event.get(name) for name in own),  # an optional one absent: NULL
                    date(2026, 11, 20),
                ]
            ],
        )
    (received,) = trino(
        f"SELECT received_at FROM hive.default.sword_purchases WHERE user_id = '{user}'"
    )
    assert abs(received[0] - datetime.now(UTC).replace(tzinfo=None)).total_seconds() < 600  # type: ignore[operator]
    assert prometheus_value(
        Stream(stack).endpoint, "questlog_stream_late_events_total"
    ) >= late_before + len(events)


def test_bad_records_become_dead_letters_and_repeated_ids_are_dropped(
    stack: Settings, trino: Trino
) -> None:
    marker, now = unique("bad"), datetime.now(UTC).isoformat()
    envelope = {"user_id": marker, "occurred_at": now, "received_at": now}
    sword = {
        **envelope,
        "event_type": "purchase_sword",
        "sword_type": "katana",
        "sword_cost": 300,
        "strength": 7.5,
    }
    bad = {
        f"{marker}-text": f"not json {marker}",
        f"{marker}-dragon": json.dumps(
            {**envelope, "event_id": f"{marker}-dragon", "event_type": "summon_dragon"}
        ),
        f"{marker}-cost": json.dumps({**sword, "event_id": f"{marker}-cost", "sword_cost": "x"}),
        f"{marker}-guild": json.dumps(
            {**envelope, "event_id": f"{marker}-guild", "event_type": "join_guild"}
        ),
    }
    repeated = json.dumps({**sword, "event_id": f"{marker}-once"})
    records = [(marker, value) for value in [*bad.values(), repeated, repeated]]
    assert publish(stack.kafka.bootstrap, "events", records) == len(records)

    eventually(
        trino,
        f"SELECT event_id, event_type, reason FROM hive.default.dead_letters "
        f"WHERE value LIKE '%{marker}%' ORDER BY reason",
        [
            [f"{marker}-dragon", "summon_dragon", "event_type: unknown event type summon_dragon"],
            [f"{marker}-guild", "join_guild", "guild: missing"],
            [f"{marker}-cost", "purchase_sword", "sword_cost: expected bigint, got x"],
            [None, None, "value is not a JSON object"],
        ],
    )
    (text,) = trino(
        f"SELECT value, topic FROM hive.default.dead_letters WHERE value = 'not json {marker}'"
    )
    assert text == [f"not json {marker}", "events"]

    # Once more, in a later micro-batch; a record sent after it proves that batch is in.
    publish(stack.kafka.bootstrap, "events", [(marker, repeated)])
    publish(stack.kafka.bootstrap, "events", [(marker, json.dumps({**sword, "event_id": marker}))])
    eventually(
        trino,
        f"SELECT event_id, count(*) FROM hive.default.sword_purchases "
        f"WHERE user_id = '{marker}' GROUP BY event_id ORDER BY event_id",
        [[marker, 1], [f"{marker}-once", 1]],
    )


def own_stream_env(topic: str, database: str, catalog: Path, tmp_path: Path) -> dict[str, str]:
    """A stream run of a test's own: its topic, database, catalog, lake and checkpoints."""
    return {
        "QUESTLOG__KAFKA__EVENTS_TOPIC": topic,
        "QUESTLOG__LAKE__DATABASE": database,
        "QUESTLOG__LAKE__CATALOG_DIR": str(catalog),
        "QUESTLOG__LAKE__ROOT": (tmp_path / "lake").as_uri(),
        "QUESTLOG__LAKE__CHECKPOINT_ROOT": (tmp_path / "checkpoints").as_uri(),
        # Port 0: the OS picks a free port when the app binds (no test reads these metrics).
        # A port probed free beforehand can be taken by then, as it once was between two runs.
        "QUESTLOG__STREAM__METRICS_PORT": "0",
    }


def test_an_event_type_added_to_the_catalog_gets_its_table(
    stack: Settings, trino: Trino, tmp_path: Path
) -> None:
    """A catalog with one more schema file, and nothing else changed: the stream creates
    the table and lands the new type's events in it (run here on a topic, database and lake
    of its own, with ``--available-now``)."""
    catalog = tmp_path / "catalog"
    shutil.copytree(EVENTS_DIR, catalog)
    schema = json.loads((EVENTS_DIR / "join_guild.v1.json").read_text())
    schema |= {
        "$id": "urn:questlog:event:tame_dragon:1",
        "title": "tame_dragon",
        "x-questlog-table": "dragon_tamings",
        "properties": {
            "dragon": {"type": "string"},
            "wingspan": {"type": "number"},
            "tamed": {"type": "boolean"},
        },
        "required": ["dragon"],
    }
    (catalog / "tame_dragon.v1.json").write_text(json.dumps(schema))
    topic, database = unique("events"), unique("lake")
    now = datetime.now(UTC).isoformat()
    dragon = {
        "event_id": "d-1",
        "event_type": "tame_dragon",
        "user_id": "player-1",
        "occurred_at": now,
        "received_at": now,
        "dragon": "Smaug",
        "wingspan": 42.5,
        "tamed": True,
    }
    publish(stack.kafka.bootstrap, topic, [("player-1", json.dumps(dragon))])

    spark_submit(
        stack,
        "stream",
        "--available-now",
        env=own_stream_env(topic, database, catalog, tmp_path),
    )

    assert trino(
        f"SELECT event_id, dragon, wingspan, tamed FROM hive.{database}.dragon_tamings"
    ) == [["d-1", "Smaug", 42.5, True]]
    assert trino(f"SELECT count(*) FROM hive.{database}.sword_purchases") == [[0]]


def test_a_new_catalog_version_adds_its_column_and_older_rows_read_null(
    stack: Settings, trino: Trino, tmp_path: Path
) -> None:
    """Events of version 1 land; then the catalog gains a version 2 that adds a property,
    and nothing else changes: the stream, started again, adds the column, lands version 2
    events with it, and the version 1 rows read null there."""
    catalog = tmp_path / "catalog"
    shutil.copytree(EVENTS_DIR, catalog)
    topic, database = unique("events"), unique("evolve")
    env = own_stream_env(topic, database, catalog, tmp_path)
    now = datetime.now(UTC).isoformat()

    def join(event_id: str, version: int, **extra: object) -> tuple[str, str]:
        event = {
            "event_id": event_id,
            "event_type": "join_guild",
            "event_version": version,
            "user_id": "player-1",
            "occurred_at": now,
            "received_at": now,
            "guild": "Iron Legion",
            **extra,
        }
        return "player-1", json.dumps(event)

    publish(stack.kafka.bootstrap, topic, [join("v1-1", 1)])
    spark_submit(stack, "stream", "--available-now", env=env)
    schema = json.loads((EVENTS_DIR / "join_guild.v1.json").read_text())
    schema["$id"], schema["x-questlog-version"] = "urn:questlog:event:join_guild:2", 2
    schema["properties"]["rank"] = {"type": "integer", "minimum": 1}
    (catalog / "join_guild.v2.json").write_text(json.dumps(schema))
    publish(stack.kafka.bootstrap, topic, [join("v2-1", 2, rank=3)])
    spark_submit(stack, "stream", "--available-now", env=env)

    assert trino(
        f"SELECT event_id, event_version, guild, rank FROM hive.{database}.guild_joins "
        "ORDER BY event_id"
    ) == [["v1-1", 1, "Iron Legion", None], ["v2-1", 2, "Iron Legion", 3]]


def test_the_table_job_creates_every_table_and_moves_older_ones_onto_iceberg(
    stack: Settings, trino: Trino, spark: SparkSession, tmp_path: Path
) -> None:
    database, lake = unique("tables"), tmp_path / "lake"
    env = {"QUESTLOG__LAKE__DATABASE": database, "QUESTLOG__LAKE__ROOT": lake.as_uri()}
    # A table of the older layout: Parquet partitions registered in the metastore.
    spark.sql(f"CREATE DATABASE `{database}`")
    spark.sql(
        f"CREATE TABLE `{database}`.guild_joins (event_id string, occurred_at timestamp, "
        "user_id string, guild string) PARTITIONED BY (event_date date) STORED AS PARQUET "
        f"LOCATION '{(lake / 'guild_joins').as_uri()}'"
    )
    spark.sql(
        f"INSERT INTO `{database}`.guild_joins PARTITION (event_date = DATE '2026-01-02') "
        "VALUES ('e-1', TIMESTAMP '2026-01-02 03:04:05', 'player-1', 'Iron Legion')"
    )
    assert list(lake.glob("guild_joins/event_date=*/*.parquet"))

    spark_submit(stack, "tables", env=env)
    spark_submit(stack, "tables", env=env)  # a second run changes nothing

    tables = {t.table for t in CATALOG.values()} | {DEAD_LETTER_TABLE, *ASSESSMENT_TABLES}
    assert {row[0] for row in trino(f"SHOW TABLES FROM iceberg.{database}")} == tables
    assert {row[0] for row in trino(f"SHOW TABLES FROM hive.{database}")} == tables
    # Empty until their batch job builds them, so the report can ask them already.
    assert trino(f"SELECT count(*) FROM hive.{database}.assessments") == [[0]]
    # The row kept, its time as it was, the columns it lacked null, the old files gone.
    assert trino(
        f"SELECT event_id, guild, occurred_at, host, event_date FROM hive.{database}.guild_joins"
    ) == [["e-1", "Iron Legion", datetime(2026, 1, 2, 3, 4, 5), None, date(2026, 1, 2)]]
    assert not list(lake.glob("guild_joins/event_date=*"))
    assert trino(f'SELECT count(*) FROM iceberg.{database}."guild_joins$snapshots"') == [[1]]


def test_the_stream_maintains_its_tables_on_its_own_schedule(
    stack: Settings, trino: Trino, tmp_path: Path
) -> None:
    """With ``QUESTLOG__LAKE__MAINTENANCE_MINUTES`` set (as the local stack sets it), the streaming
    app compacts its tables itself while it goes on landing events: a rewrite replaces the
    partition's micro-batch files, and every event lands once."""
    topic, database = unique("events"), unique("maintained")
    env = {
        **os.environ,
        **spark_environment(stack),
        **own_stream_env(topic, database, EVENTS_DIR, tmp_path),
        "QUESTLOG__STREAM__TRIGGER_SECONDS": "2",
        "QUESTLOG__LAKE__MAINTENANCE_MINUTES": "0.5",
    }
    now = datetime.now(UTC).isoformat()
    sent = 0

    def swords(count: int) -> list[tuple[str, str]]:
        nonlocal sent
        sent += count
        return [
            (
                "player-1",
                json.dumps(
                    {
                        "event_id": f"s-{sent - i}",
                        "event_type": "purchase_sword",
                        "user_id": "player-1",
                        "occurred_at": now,
                        "received_at": now,
                        "sword_type": "katana",
                        "sword_cost": 300,
                        "strength": 5.0,
                    }
                ),
            )
            for i in range(count)
        ]

    snapshots = f'iceberg.{database}."sword_purchases$snapshots"'
    # A rewrite of data files (rewriting the manifests is a 'replace' too, without these).
    deleted = "CAST(element_at(summary, 'deleted-data-files') AS integer)"
    rewrites = f"SELECT count({deleted}) FROM {snapshots} WHERE operation = 'replace'"
    log = (tmp_path / "stream.log").open("w")
    stream = subprocess.Popen(
        spark_submit_command(stack, "stream"), env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 300
        while not rewritten(trino, rewrites):  # a few events a second: a file a batch
            assert time.monotonic() < deadline, f"no rewrite in 300 s; see {log.name}"
            publish(stack.kafka.bootstrap, topic, swords(5))
            time.sleep(1)
        publish(stack.kafka.bootstrap, topic, swords(5))  # and more after the rewrite
        eventually(
            trino,
            f"SELECT count(*), count(DISTINCT event_id) FROM hive.{database}.sword_purchases",
            [[sent, sent]],
        )
    finally:
        spark = psutil.Process(stream.pid)
        for process in [*spark.children(recursive=True), spark]:
            process.terminate()
        stream.wait(60)
        log.close()
    ((replaced,),) = trino(f"SELECT max({deleted}) FROM {snapshots} WHERE operation = 'replace'")
    assert isinstance(replaced, int) and replaced >= 2


def rewritten(trino: Trino, rewrites: str) -> bool:
    try:
        return bool(trino(rewrites)[0][0])
    except QueryFailed:  # the stream has not created the table yet
        return False

"""The pipeline in containers of questlog's images, each run as its component runs on the
local stack: PostgreSQL under the metastore (the Spark image) and the pilot registry, Kafka,
the API, the stream
(the Spark image, in local mode) writing the lake on the S3 image, Trino reading it, and
Prometheus scraping the API and the stream. Then the load generator and the Helm test
hook's smoke check run against it, from their images, on the same network."""

import json
import random
import re
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from docker.models.containers import Container

from questlog.stack.probes import metastore_databases, trino_query
from questlog.traffic import landed_sql, post_sample, wait_until_landed
from tests.images.conftest import Containers, published

METASTORE = ["python", "-m", "questlog.stack.container", "metastore"]
BUCKET = "lake"
S3 = {"AWS_ACCESS_KEY_ID": "questlog", "AWS_SECRET_ACCESS_KEY": uuid.uuid4().hex}
# Where each component finds the others, on the network; the lake is on the S3 image.
ADDRESSES = {
    "QUESTLOG__KAFKA__BOOTSTRAP": "kafka:9092",
    "QUESTLOG__METASTORE__URI": "thrift://metastore:9083",
    "QUESTLOG__LAKE__ROOT": f"s3a://{BUCKET}/warehouse",
    "QUESTLOG__LAKE__CHECKPOINT_ROOT": f"s3a://{BUCKET}/checkpoints",
    "QUESTLOG__S3__ENDPOINT": "http://s3:8333",
}
DATABASE_PASSWORD = uuid.uuid4().hex


@dataclass
class Pipeline:
    containers: Containers
    kafka: Container
    registry: Container
    api: Container
    metastore: Container
    trino: Container
    stream: Container
    s3: Container
    prometheus: Container
    write_key: str  # created with the registry image's own command

    def url(self, container: Container, port: int) -> str:
        return f"http://127.0.0.1:{published(container, port)}"


@pytest.fixture(scope="module")
def pipeline(containers: Containers) -> Iterator[Pipeline]:
    run = containers.run
    database = run(
        "postgresql",
        "postgresql",
        environment={
            "POSTGRES_USER": "metastore",
            "POSTGRES_PASSWORD": DATABASE_PASSWORD,
            "POSTGRES_DB": "metastore",
        },
    )
    s3 = run("versitygw", "s3", environment={**S3, "S3_BUCKETS": BUCKET}, publish=(8333,))
    kafka = run("kafka", "kafka")
    for container in (database, s3, kafka):
        containers.wait_healthy(container)
    code, output = containers.run_to_end("kafka", ["--after-ready"])
    assert code == 0 and "created topics" in output, output
    metastore = run(
        "spark",
        "metastore",
        METASTORE,
        environment={
            **ADDRESSES,
            **S3,
            "QUESTLOG__METASTORE__DB_URL": "jdbc:postgresql://postgresql:5432/metastore",
            "QUESTLOG__METASTORE__DB_USER": "metastore",
            "QUESTLOG__METASTORE__DB_PASSWORD": DATABASE_PASSWORD,
        },
        publish=(9083,),
        healthcheck=[*METASTORE, "--check"],
    )
    registry = run(
        "registry",
        "registry",
        environment={
            **ADDRESSES,
            "QUESTLOG__REGISTRY__DATABASE_URL": "postgresql+psycopg://metastore@postgresql:5432/"
            "metastore",
            "QUESTLOG__REGISTRY__DATABASE_PASSWORD": DATABASE_PASSWORD,
        },
    )
    api = run("ingest-api", "api", environment=ADDRESSES, publish=(8000,))
    containers.wait_healthy(metastore)
    trino = run("trino", "trino", environment={**ADDRESSES, **S3}, publish=(8080,))
    stream = run("spark", "stream", environment={**ADDRESSES, **S3}, publish=(8001,))
    prometheus = run("prometheus", "prometheus", publish=(9090,))
    for container in (registry, api, trino, stream, prometheus):
        containers.wait_healthy(container)
    code, output = registry.exec_run(
        ["python", "-m", "questlog_registry.keys", "create", "image-tests"], demux=True
    )
    assert code == 0, output
    key = output[0].decode().strip()
    yield Pipeline(containers, kafka, registry, api, metastore, trino, stream, s3, prometheus, key)


def test_the_api_is_ready_against_the_kafka_image(pipeline: Pipeline) -> None:
    with urllib.request.urlopen(f"{pipeline.url(pipeline.api, 8000)}/readyz", timeout=10) as ready:
        assert json.load(ready) == {"status": "ready"}


def test_the_kafka_image_takes_and_serves_a_record(pipeline: Pipeline) -> None:
    """A producer and a consumer in another container on the network, as clients reach it."""
    record = uuid.uuid4().hex
    script = f"""
from confluent_kafka import Consumer, Producer
producer = Producer({{"bootstrap.servers": "kafka:9092", "acks": "all"}})
producer.produce("image-test", value=b"{record}")
assert producer.flush(30) == 0
consumer = Consumer({{"bootstrap.servers": "kafka:9092", "group.id": "image-test",
                      "auto.offset.reset": "earliest"}})
consumer.subscribe(["image-test"])
for _ in range(60):
    message = consumer.poll(1)
    if message is not None and not message.error():
        print("served", message.value().decode())
        break
"""
    code, output = pipeline.containers.run_to_end("ingest-api", ["python", "-c", script])
    assert code == 0, output
    assert f"served {record}" in output


def test_the_metastore_on_the_postgresql_image_answers_thrift(pipeline: Pipeline) -> None:
    assert "default" in metastore_databases("127.0.0.1", published(pipeline.metastore, 9083))
    # Its schema is in PostgreSQL, not in a Derby database of its own.
    code, output = pipeline.containers.engine.containers.get(
        f"{pipeline.containers.network}-postgresql"
    ).exec_run(["psql", "-U", "metastore", "-d", "metastore", "-tAc", 'SELECT "NAME" FROM "DBS"'])
    assert code == 0 and output.decode().split() == ["default"], output


def test_trino_reads_what_the_stream_wrote_to_the_lake_on_s3(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUESTLOG_WRITE_KEY", pipeline.write_key)
    trino_port = published(pipeline.trino, 8080)
    assert trino_query("127.0.0.1", trino_port, "SELECT 1") == [[1]]
    agent = f"questlog-image-test/{uuid.uuid4().hex[:8]}"
    accepted = post_sample(pipeline.url(pipeline.api, 8000), 300, agent, random.Random(7))
    assert accepted == 300

    def landed() -> int:
        (row,) = trino_query("127.0.0.1", trino_port, landed_sql(agent), timeout=60)
        return int(str(row[0]))

    seen, seconds = wait_until_landed(landed, 300, timeout=240, poll=3)
    assert seen == 300, f"{seen} of 300 events in Trino after {seconds:.0f} s"
    s3 = boto3.client(
        "s3",
        endpoint_url=pipeline.url(pipeline.s3, 8333),
        aws_access_key_id=S3["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="warehouse/sword_purchases/")
    assert [o["Key"] for o in listed.get("Contents", []) if o["Key"].endswith(".parquet")]


def test_the_helm_test_hooks_check_passes_from_the_api_image(pipeline: Pipeline) -> None:
    code, output = pipeline.containers.run_to_end(
        "ingest-api",
        [
            *("python", "-m", "questlog.smoke", "--events=50", "--timeout=240"),
            *("--api=http://api:8000", "--trino=http://trino:8080"),
        ],
        environment={"QUESTLOG_WRITE_KEY": pipeline.write_key},
    )
    assert code == 0, output
    assert "OK: Trino returns all 50 events" in output


def test_prometheus_scrapes_the_services_and_the_stream(pipeline: Pipeline) -> None:
    query = f"{pipeline.url(pipeline.prometheus, 9090)}/api/v1/query?query=up"
    deadline = time.monotonic() + 60
    while True:
        with urllib.request.urlopen(query, timeout=10) as answer:
            results = json.load(answer)["data"]["result"]
        up = {result["metric"]["job"]: result["value"][1] for result in results}
        if all(
            up.get(job) == "1" for job in ("questlog-api", "questlog-registry", "questlog-stream")
        ):
            break
        assert time.monotonic() < deadline, f"targets up: {up}"
        time.sleep(2)


def test_the_load_image_runs_a_headless_locust_run_against_the_api(pipeline: Pipeline) -> None:
    code, output = pipeline.containers.run_to_end(
        "loadtest",
        ["--headless", "--users=10", "--spawn-rate=10", "--run-time=10s", "--host=http://api:8000"],
        # A 10 s run on a busy machine: its p95 says nothing; its failures do.
        environment={
            "QUESTLOG__LOAD__MAX_P95_MS": "5000",
            "QUESTLOG_WRITE_KEY": pipeline.write_key,
        },
        timeout=120,
    )
    assert code == 0, output
    totals = re.findall(r"^\s*Aggregated\s+(\d+)\s+(\d+)\(", output, re.M)
    assert totals, output
    requests, failures = (int(n) for n in totals[-1])
    assert requests > 50 and failures == 0, output


def test_the_operator_image_prints_its_version(containers: Containers) -> None:
    code, output = containers.run_to_end("spark-operator", ["version"])
    assert code == 0, output
    assert "Git Version: v2.5.2" in output

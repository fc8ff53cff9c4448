"""Readiness probes: each asks a component the question that proves it serves clients."""

import json
import logging
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from hmsclient.genthrift.hive_metastore import ThriftHiveMetastore
from hmsclient.genthrift.hive_metastore.ttypes import MetaException
from thrift.protocol import TBinaryProtocol
from thrift.transport import TSocket, TTransport
from trino.dbapi import connect as trino_connect
from trino.exceptions import TrinoQueryError

from questlog.metrics_text import metric_sum, scrape

# The user questlog's own tools query Trino as: the one its access rules let write
# (templates/trino-rules.json); any other user may only read.
TRINO_SERVICE_USER = "questlog"

# A probe that fails is expected while a component starts; the thrift socket would log each.
logging.getLogger("thrift.transport.TSocket").setLevel(logging.CRITICAL)


class NotReady(Exception):
    """The component did not answer (yet)."""


class QueryFailed(Exception):
    """Trino answered, and refused or failed the statement (access denied, no such table,
    a syntax error); the message has Trino's reason."""


def trino_failure(where: str, error: Exception) -> Exception:
    """``error`` of a Trino client call as QueryFailed when Trino answered it with an error,
    else as NotReady (it could not be reached, or is still starting)."""
    answered = isinstance(error, TrinoQueryError) and error.error_name != "SERVER_STARTING_UP"
    return (QueryFailed if answered else NotReady)(f"{where}: {error}")


def kafka_topics(bootstrap: str, timeout: float = 3.0) -> list[str]:
    """Topic names from the broker's metadata."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    try:
        metadata = admin.list_topics(timeout=timeout)
    except Exception as error:
        raise NotReady(f"Kafka at {bootstrap} did not answer metadata: {error}") from error
    return sorted(metadata.topics)


# What a partition answers while its leader is being elected (a topic just created).
NO_LEADER_YET = (KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE)


def topic_ends(bootstrap: str, topic: str, timeout: float = 10.0) -> dict[int, int]:
    """The end offset of each partition of ``topic`` now (empty if there is no such topic),
    once each partition has a leader (within ``timeout``)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"questlog-{uuid.uuid4()}"})
    deadline = time.monotonic() + timeout
    try:
        while True:
            metadata = consumer.list_topics(topic, timeout=timeout).topics[topic]
            if metadata.error is not None:
                return {}
            try:
                return {
                    p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)[1]
                    for p in metadata.partitions
                }
            except KafkaException as error:
                if error.args[0].code() not in NO_LEADER_YET or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        consumer.close()


def create_topics(
    bootstrap: str,
    topics: list[str],
    partitions: int,
    configs: dict[str, dict[str, str]] | None = None,
    timeout: float = 10.0,
) -> None:
    """Create the topics (one replica each, as on a one-broker cluster), each with its
    ``configs`` entry, if any, as topic configuration."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    new_topics = [
        NewTopic(topic, partitions, 1, config=(configs or {}).get(topic, {})) for topic in topics
    ]
    futures = admin.create_topics(new_topics, request_timeout=timeout)
    for topic, future in futures.items():
        try:
            future.result(timeout=timeout)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise NotReady(f"Kafka at {bootstrap} did not create {topic}: {error}") from error


@contextmanager
def metastore(host: str, port: int, timeout: float = 3.0) -> Iterator[ThriftHiveMetastore.Client]:
    """A Hive Metastore client (hmsclient's, generated from the metastore's thrift IDL) on
    an open connection."""
    socket = TSocket.TSocket(host, port)
    socket.setTimeout(int(timeout * 1000))
    transport = TTransport.TBufferedTransport(socket)
    transport.open()
    try:
        yield ThriftHiveMetastore.Client(TBinaryProtocol.TBinaryProtocol(transport))
    finally:
        transport.close()


def metastore_databases(host: str, port: int, timeout: float = 3.0) -> list[str]:
    """Database names from the Hive Metastore's ``get_all_databases`` call."""
    try:
        with metastore(host, port, timeout) as client:
            return list(client.get_all_databases())
    except MetaException as error:
        raise NotReady(f"Hive Metastore answered with an error: {error.message}") from error
    except Exception as error:
        raise NotReady(f"Hive Metastore at {host}:{port} did not answer: {error}") from error


def trino_query(
    host: str, port: int, sql: str, timeout: float = 10.0, user: str = TRINO_SERVICE_USER
) -> list[list[object]]:
    """Rows of one statement run by Trino as ``user`` (the service user by default)."""
    try:
        connection = trino_connect(  # type: ignore[no-untyped-call]  # trino ships no hints here
            host=host, port=port, user=user, request_timeout=timeout, max_attempts=1
        )
        try:
            cursor = connection.cursor()
            cursor.execute(sql)
            rows: list[list[object]] = cursor.fetchall()
            return rows
        finally:
            connection.close()
    except Exception as error:
        raise trino_failure(f"Trino at {host}:{port} could not run {sql!r}", error) from error


def trino_announced_catalogs(host: str, port: int, timeout: float = 3.0) -> set[str]:
    """Catalogs the Trino node announces to discovery (it announces them once loaded)."""
    request = urllib.request.Request(
        f"http://{host}:{port}/v1/service/trino", headers={"X-Trino-User": TRINO_SERVICE_USER}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            services = json.load(response)["services"]
    except Exception as error:
        raise NotReady(f"Trino at {host}:{port} did not list its services: {error}") from error
    return {
        handle.split(":")[0]
        for service in services
        for handle in service["properties"].get("catalogHandleIds", "").split(",")
        if handle
    }


def prometheus_value(url: str, name: str, timeout: float = 3.0) -> float:
    """The sum over its label sets of metric ``name`` on a Prometheus endpoint (0 when it
    has no sample)."""
    return metric_sum(http_ready(url, timeout), name)


def http_ready(url: str, timeout: float = 3.0) -> str:
    """The body of a 200 answer to GET ``url``."""
    try:
        return scrape(url, timeout)
    except Exception as error:
        raise NotReady(f"{url} did not answer 200: {error}") from error

import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from questlog.settings import Settings
from questlog.stack.probes import kafka_topics
from tests.helpers import unique


def test_topic_created_produced_and_consumed(stack: Settings) -> None:
    topic = unique("roundtrip")
    admin = AdminClient({"bootstrap.servers": stack.kafka.bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(30)
    assert topic in kafka_topics(stack.kafka.bootstrap)

    sent = {f"player-{i}": f'{{"event_type": "join_guild", "n": {i}}}' for i in range(60)}
    producer = Producer(
        {"bootstrap.servers": stack.kafka.bootstrap, "acks": "all", "enable.idempotence": True}
    )
    partition_of: dict[str, int] = {}

    def delivered(error: object, message: object) -> None:
        assert error is None, error
        partition_of[message.key().decode()] = message.partition()  # type: ignore[attr-defined]

    for key, value in sent.items():
        producer.produce(topic, key=key, value=value, on_delivery=delivered)
    assert producer.flush(30) == 0
    producer.close()
    assert len(partition_of) == len(sent)
    assert len(set(partition_of.values())) == 3, "keys spread over the topic's partitions"

    consumer = Consumer(
        {
            "bootstrap.servers": stack.kafka.bootstrap,
            "group.id": unique("test-group"),
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    received: dict[str, str] = {}
    deadline = time.monotonic() + 60
    try:
        while len(received) < len(sent) and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None:
                continue
            assert message.error() is None, message.error()
            key = message.key().decode()
            received[key] = message.value().decode()
            assert message.partition() == partition_of[key]
    finally:
        consumer.close()
    assert received == sent

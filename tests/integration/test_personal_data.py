"""Personal data on the stack: the fields the catalog marks personal (sign_up's email,
hashed; its phone, dropped) are never in clear in Kafka, its dead letters, the lake or
Trino; the same address gives the same token."""

from typing import Any

import httpx

from questlog.settings import Settings
from questlog.stack.probes import topic_ends
from questlog.traffic import key_headers
from tests.helpers import Trino, eventually, read_topic, unique


def test_personal_fields_never_reach_kafka_the_lake_or_trino_in_clear(
    stack: Settings, trino: Trino
) -> None:
    email, phone = f"{unique('ada')}@example.com", "+44 20 7946 0958"
    first, second = unique("signed-up"), unique("signed-up")

    def sign_up(user: str, **extra: Any) -> dict[str, Any]:
        return {"event_type": "sign_up", "user_id": user, "email": email, "phone": phone, **extra}

    before = {t: topic_ends(stack.kafka.bootstrap, t) for t in ("events", "events.invalid")}
    batch = [sign_up(first, platform="pc"), sign_up(second, platform="mobile")]
    batch.append(sign_up(unique("invalid"), platform="fridge"))
    response = httpx.post(
        f"{stack.api.url}/v1/events", json={"events": batch}, headers=key_headers()
    )
    assert response.status_code == 202, response.text
    assert len(response.json()["rejected"]) == 1
    for topic, since in before.items():
        for _, value in read_topic(stack.kafka.bootstrap, topic, since=since):
            assert email.encode() not in value and phone.encode() not in value, topic
    table = "iceberg.default.sign_ups"
    landed = f"FROM {table} WHERE user_id IN ('{first}', '{second}')"
    eventually(trino, f"SELECT count(*) {landed}", [[2]])
    tokens = trino(f"SELECT email {landed}")
    assert tokens[0] == tokens[1] and len(str(tokens[0][0])) == 64, "one address, one token"
    columns = [row[0] for row in trino(f"SHOW COLUMNS FROM {table}")]
    assert "email" in columns and "phone" not in columns
    assert trino(f"SELECT count(*) FROM {table} WHERE email = '{email}'") == [[0]]

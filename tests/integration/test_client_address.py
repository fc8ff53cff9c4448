"""The client address each event lands with: through the stack's own Uvicorn process, where
a client on 127.0.0.1 is no trusted proxy, into Kafka and Trino; and behind a trusted proxy
(in-process, with the peer address a proxy would have)."""

import json
from ipaddress import ip_network

import httpx
from fastapi.testclient import TestClient
from questlog_ingest.app import create_app
from questlog_settings import ApiSettings, get_api_settings

from questlog.settings import Settings
from questlog.stack.probes import topic_ends
from questlog.traffic import key_headers
from tests.helpers import Trino, eventually, read_topic, unique, with_api


def test_a_clients_own_forwarded_for_is_ignored_and_its_address_stored_truncated(
    stack: Settings, trino: Trino
) -> None:
    """Uvicorn alone would believe X-Forwarded-For from any peer on 127.0.0.1."""
    user = unique("spoofing")
    before = topic_ends(stack.kafka.bootstrap, "events")
    response = httpx.post(
        f"{stack.api.url}/v1/events",
        json={"event_type": "join_guild", "user_id": user, "guild": "Iron Legion"},
        headers={**key_headers(), "X-Forwarded-For": "198.51.100.7"},
    )
    assert response.status_code == 202, response.text
    records = read_topic(stack.kafka.bootstrap, "events", since=before)
    stored = [json.loads(value)["client_ip"] for _, value in records if user.encode() in value]
    assert stored == ["127.0.0.0"]
    sql = f"SELECT client_ip FROM iceberg.default.guild_joins WHERE user_id = '{user}'"
    eventually(trino, sql, [["127.0.0.0"]])


def test_behind_a_trusted_proxy_the_forwarded_client_is_stored(
    stack: Settings, api_settings: ApiSettings, bearer: dict[str, str]
) -> None:
    settings = with_api(api_settings, trusted_proxies=[ip_network("10.0.0.0/8")])
    app = create_app()
    app.dependency_overrides[get_api_settings] = lambda: settings
    ingress = ("10.244.1.17", 41000)
    with TestClient(app, headers=bearer, client=ingress) as client:
        forwarded = {"X-Forwarded-For": "1.1.1.1, 198.51.100.7, 10.244.0.1"}
        valid = {"event_type": "default", "user_id": "player-1"}
        invalid = {"event_type": "default"}
        response = client.post("/v1/events", json={"events": [valid, invalid]}, headers=forwarded)
        assert response.status_code == 202, response.text
    published = read_topic(stack.kafka.bootstrap, settings.kafka.events_topic)
    dead = read_topic(stack.kafka.bootstrap, settings.kafka.invalid_topic)
    stored = [json.loads(value)["client_ip"] for _, value in [*published, *dead]]
    assert stored == ["198.51.100.0", "198.51.100.0"], "the event and its dead letter"

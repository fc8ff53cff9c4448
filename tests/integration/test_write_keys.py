"""Write keys on the stack's API, against its Kafka, stream and Trino: keys are made and
revoked with ``questlog keys``; a request without a valid key is refused and publishes
nothing; a keyed event lands with the key's name as its ``source``."""

import json
import subprocess
import sys
import time

import httpx

from questlog.settings import Settings
from questlog.stack.probes import topic_ends
from tests.helpers import Trino, eventually, read_topic, unique


def questlog_keys(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "questlog.cli", "keys", *arguments],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


def test_only_a_valid_write_key_posts_and_its_name_lands_as_the_source(
    stack: Settings, trino: Trino
) -> None:
    name, revoked = unique("game-server"), unique("old-server")
    key = questlog_keys("create", name).stdout.strip()
    old_key = questlog_keys("create", revoked).stdout.strip()
    questlog_keys("revoke", revoked)
    listing = questlog_keys("list").stdout
    assert f"{name} " in listing and f"{revoked} " in listing and "revoked 20" in listing
    assert key not in listing and key.startswith("qlk_")

    refused_user, user = unique("refused"), unique("keyed")
    event = {"event_type": "join_guild", "user_id": refused_user, "guild": "Iron Legion"}
    before = topic_ends(stack.kafka.bootstrap, "events")
    wrong = {
        "no key": ({}, 401),
        "an unknown key": ({"Authorization": "Bearer qlk_never-created"}, 401),
        "a revoked key": ({"Authorization": f"Bearer {old_key}"}, 403),
        "the key in another header": ({"X-Api-Key": key}, 401),
        "the key without its scheme": ({"Authorization": key}, 401),
        "the key as a password": ({"Authorization": f"Basic {key}"}, 401),
    }
    url = f"{stack.api.url}/v1/events"
    for case, (headers, status) in wrong.items():
        response = httpx.post(url, json=event, headers=headers)
        assert response.status_code == status, (case, response.text)
        if status == 401:
            assert response.headers["WWW-Authenticate"].startswith('Bearer realm="questlog"')
    assert "revoked" in httpx.post(url, json=event, headers=wrong["a revoked key"][0]).text

    keyed = {**event, "user_id": user}
    bearer = {"Authorization": f"Bearer {key}"}
    response = httpx.post(url, json=keyed, headers=bearer)
    assert response.status_code == 202, response.text
    records = read_topic(stack.kafka.bootstrap, "events", since=before)
    published = [json.loads(value) for _, value in records]
    assert refused_user not in {record["user_id"] for record in published}
    assert [r["source"] for r in published if r["user_id"] == user] == [name]
    eventually(
        trino,
        f"SELECT user_id, source FROM iceberg.default.guild_joins "
        f"WHERE user_id IN ('{user}', '{refused_user}')",
        [[user, name]],
    )
    # Revoked while the API runs: refused once its cache of the key expires.
    questlog_keys("revoke", name)
    deadline = time.monotonic() + Settings().api.write_key_cache_seconds + 5
    while (again := httpx.post(url, json=keyed, headers=bearer)).status_code == 202:
        assert time.monotonic() < deadline, "the revoked key is still taken"
        time.sleep(0.5)
    assert again.status_code == 403, again.text


def test_the_game_routes_stay_open_for_the_course_projects_scripts(stack: Settings) -> None:
    response = httpx.get(f"{stack.api.url}/purchase_a_sword", headers={"User-Agent": "ab/2.3"})
    assert (response.status_code, response.text) == (200, "Sword Purchased!\n")


def test_the_stack_posts_with_its_own_key(stack: Settings) -> None:
    key = stack.write_key_file.read_text().strip()
    assert stack.write_key_file.stat().st_mode & 0o077 == 0, "readable by its owner only"
    response = httpx.post(
        f"{stack.api.url}/v1/events",
        json={"event_type": "default", "user_id": unique("stack")},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 202, response.text
    assert "\nstack" in "\n" + questlog_keys("list").stdout

"""A refused request's answer reaches clients that send their whole body before they read
(urllib, requests), through a real Uvicorn process started as the stack starts its API:
the body is read and discarded first, as nginx's lingering close does (without that, they
see "connection reset by peer")."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from questlog.stack.components import API_COMMAND
from tests.helpers import free_port, new_write_key

EIGHT_MB = b"[" + b"1," * (4 * 1024 * 1024) + b"1]"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The API's URL and a write key; no broker listens: these requests never reach one."""
    registry = f"sqlite:///{tmp_path / 'registry.db'}"
    key = new_write_key(registry)
    port = str(free_port())
    environment = {
        **os.environ,
        "QUESTLOG_REGISTRY_URL": registry,
        "QUESTLOG_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",
    }
    command = [sys.executable, "-m", *API_COMMAND, "--host", "127.0.0.1", "--port", port]
    process = subprocess.Popen(command, env=environment, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=2)
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "no API"
                time.sleep(0.2)
        yield url, key
    finally:
        process.terminate()
        process.wait(timeout=30)


def urllib_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_an_oversized_body_gets_its_413_and_an_unkeyed_one_its_401(api: tuple[str, str]) -> None:
    url, key = api
    events = f"{url}/v1/events"
    json = {"Content-Type": "application/json"}
    keyed = {**json, "Authorization": f"Bearer {key}"}
    status, body = urllib_post(events, EIGHT_MB, keyed)
    assert status == 413 and b"the limit is 1048576" in body
    assert urllib_post(events, EIGHT_MB, json)[0] == 401
    with requests.Session() as session:
        # Declared too large; sent without a length (chunked), found too large part way.
        assert session.post(events, data=EIGHT_MB, headers=keyed).status_code == 413
        chunks = (EIGHT_MB[i : i + 65536] for i in range(0, len(EIGHT_MB), 65536))
        response = session.post(events, data=chunks, headers=keyed)
        assert response.status_code == 413, response.text
        assert "larger than the limit" in response.text
        assert session.post(events, data=EIGHT_MB, headers=json).status_code == 401
        # The connection was kept, not closed on an unread body: still served.
        assert session.get(f"{url}/healthz").status_code == 200


def test_a_client_waiting_for_100_continue_is_answered_without_sending_its_body(
    api: tuple[str, str],
) -> None:
    """Reading its body would ask for it ("100 Continue"): the refusal comes at once."""
    url, _ = api
    port = int(url.rsplit(":", 1)[1])
    head = (
        "POST /v1/events HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(EIGHT_MB)}\r\nExpect: 100-continue\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=3) as client:
        client.sendall(head.encode())
        answer = client.recv(4096)  # well before QUESTLOG_DRAIN_SECONDS (5) could pass
    assert answer.startswith(b"HTTP/1.1 401 "), answer

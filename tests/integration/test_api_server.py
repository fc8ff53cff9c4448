"""The API's server process, started as the stack starts it: a refused request's answer
reaches clients that send their whole body before they read (urllib, requests), since the
body is read and discarded first (without that, they see "connection reset by peer"); and
clients trickling headers or bodies are cut off without stopping the others."""

import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
import requests
from questlog_settings import Registry as RegistrySettings

from tests.helpers import free_port, start_api, stop

EIGHT_MB = b"[" + b"1," * (4 * 1024 * 1024) + b"1]"
DEADLINE = 3  # seconds, for headers and for bodies


@pytest.fixture
def api(registry: RegistrySettings, tests_key: str) -> Iterator[tuple[str, str]]:
    """The API's URL and a write key; no broker listens: these requests never reach one."""
    process, url = start_api(
        {
            "QUESTLOG__REGISTRY__URL": registry.url,
            "QUESTLOG__KAFKA__BOOTSTRAP": f"127.0.0.1:{free_port()}",
            "QUESTLOG__API__HEADER_TIMEOUT_SECONDS": str(DEADLINE),
            "QUESTLOG__API__BODY_TIMEOUT_SECONDS": str(DEADLINE),
        }
    )
    try:
        yield url, tests_key
    finally:
        stop(process)


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
    head = (
        "POST /v1/events HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(EIGHT_MB)}\r\nExpect: 100-continue\r\n\r\n"
    )
    with connect(api, timeout=DEADLINE - 1) as client:
        client.sendall(head.encode())
        answer = client.recv(4096)  # well before QUESTLOG__API__DRAIN_SECONDS (5) could pass
    assert answer.startswith(b"HTTP/1.1 401 "), answer


def connect(api: tuple[str, str], timeout: float) -> socket.socket:
    port = int(api[0].rsplit(":", 1)[1])
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def trickle(client: socket.socket, data: bytes) -> bytes:
    """Send ``data`` a byte every half second until the server answers or closes (for at
    most three deadlines); what it answered (b"" if it closed without an answer)."""
    client.setblocking(False)
    answer = b""
    for byte in data[: 3 * DEADLINE * 2]:
        try:
            client.send(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            break
        time.sleep(0.5)
        try:
            answer += client.recv(4096)
            break
        except BlockingIOError:
            continue
    client.settimeout(5)
    try:
        while chunk := client.recv(4096):
            answer += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return answer


def test_clients_trickling_headers_or_bodies_are_cut_off_and_others_served(
    api: tuple[str, str],
) -> None:
    url, key = api
    slow_head = (
        "POST /v1/events HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {key}\r\nContent-Length: 200\r\n\r\n"
    ).encode()
    silent = [connect(api, timeout=10) for _ in range(20)]  # connected; never a byte
    with connect(api, timeout=10) as headers, connect(api, timeout=10) as body:
        body.sendall(slow_head)
        started = time.monotonic()
        # Meanwhile the others are served, at once.
        assert requests.get(f"{url}/healthz", timeout=2).status_code == 200
        answered = trickle(headers, slow_head), trickle(body, b"[" + b" " * 199)
        took = time.monotonic() - started
    assert answered[0].startswith(b"HTTP/1.1 408 "), answered[0]
    assert b"headers came too slowly" in answered[0]
    assert answered[1].startswith(b"HTTP/1.1 408 "), answered[1]
    assert b"the body did not arrive within 3" in answered[1]
    assert took < 4 * DEADLINE, "each cut off at its deadline"
    for client in silent:
        client.settimeout(DEADLINE + 5)
        assert client.recv(4096).startswith(b"HTTP/1.1 408 "), "a silent connection too"
        client.close()

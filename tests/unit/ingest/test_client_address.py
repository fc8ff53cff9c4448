"""The client address stored with each event: the peer's, X-Forwarded-For only from trusted
proxies, truncated unless configured whole."""

from typing import Any

import pytest
from pydantic import ValidationError
from questlog_ingest.client_address import client_address, client_ip
from questlog_settings import ApiSettings
from starlette.requests import Request

WHOLE = {"client_ip_prefix_v4": 32, "client_ip_prefix_v6": 128}
BEHIND_PROXIES = {"trusted_proxies": ["10.0.0.0/8", "192.0.2.1"], **WHOLE}


def stored(request: Request, settings: ApiSettings) -> str | None:
    return client_ip(client_address(request, settings), settings)


def request(peer: str | None, *forwarded_for: str) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded_for]
    scope: dict[str, Any] = {"type": "http", "headers": headers, "client": None}
    if peer is not None:
        scope["client"] = (peer, 50000)
    return Request(scope)


def test_stored_addresses_are_their_network_unless_configured_whole() -> None:
    truncating = ApiSettings()
    assert stored(request("203.0.113.77"), truncating) == "203.0.113.0"
    assert stored(request("2001:db8:1234:5678::9"), truncating) == "2001:db8:1234::"
    whole = ApiSettings(api=WHOLE)
    assert stored(request("203.0.113.77"), whole) == "203.0.113.77"
    assert stored(request("2001:db8:1234:5678::9"), whole) == "2001:db8:1234:5678::9"


def test_forwarded_for_is_never_read_from_an_untrusted_peer() -> None:
    for settings in ApiSettings(api=WHOLE), ApiSettings(api=BEHIND_PROXIES):
        assert stored(request("203.0.113.77", "198.51.100.1"), settings) == "203.0.113.77"


def test_behind_trusted_proxies_the_first_untrusted_hop_from_the_right_is_the_client() -> None:
    settings = ApiSettings(api=BEHIND_PROXIES)
    # The client wrote a hop of its own (1.1.1.1) to pose as someone else: ignored.
    spoofed = request("10.1.2.3", "1.1.1.1, 198.51.100.7", "192.0.2.1")
    assert stored(spoofed, settings) == "198.51.100.7"
    assert stored(request("10.1.2.3", "198.51.100.7:61000"), settings) == "198.51.100.7"
    assert stored(request("10.1.2.3", "[2001:db8::5]:443"), settings) == "2001:db8::5"
    # Only proxies: the leftmost is the client (a request from inside the network).
    assert stored(request("10.1.2.3", "10.9.9.9"), settings) == "10.9.9.9"
    assert stored(request("10.1.2.3"), settings) == "10.1.2.3"


def test_an_address_that_cannot_be_known_is_stored_as_none() -> None:
    settings = ApiSettings(api=BEHIND_PROXIES)
    assert stored(request("10.1.2.3", "unknown"), settings) is None
    assert stored(request("testclient"), settings) is None
    assert stored(request(None), settings) is None


def test_a_trusted_proxy_that_is_not_an_address_fails_at_start() -> None:
    with pytest.raises(ValidationError, match="trusted_proxies"):
        ApiSettings(api={"trusted_proxies": ["ingress-nginx"]})

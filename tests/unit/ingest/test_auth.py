"""The write key a request's Authorization header carries."""

import base64

import pytest
from questlog_ingest.auth import key_of


def basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Bearer qlk_abc", "qlk_abc"),
        ("bearer   qlk_abc  ", "qlk_abc"),
        (basic("qlk_abc:"), "qlk_abc"),  # the key as the user name, as `ab -A qlk_abc:` sends
        (basic("qlk_abc:ignored"), "qlk_abc"),
        ("Bearer ", None),
        ("qlk_abc", None),  # no scheme
        ("Token qlk_abc", None),
        ("Basic qlk_abc", None),  # the key itself, not base64 of "key:"
        (basic(":qlk_abc"), None),  # as the password: no user name
        ("Basic " + base64.b64encode(b"\xff:").decode(), None),
    ],
)
def test_the_key_of_a_header(header: str, key: str | None) -> None:
    assert key_of(header) == key

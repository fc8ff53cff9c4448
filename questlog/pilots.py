"""``questlog pilots``: the pilot registry from the command line, through the ingest API's
JSON routes (``/v1/pilots``), so every change is stored and emitted as the page's are. It
sends the write key of ``QUESTLOG_WRITE_KEY`` (the stack's, an operator's: replay needs
one)."""

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from questlog.report import Answer, format_table
from questlog.stack.install import Say
from questlog.traffic import key_headers


class RegistryRefused(Exception):
    """The API answered with an error; the message is its reason."""


def call(api_url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One JSON request to the API; its parsed answer, or ``RegistryRefused`` with why."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{api_url}{path}",
        data=data,
        method=method,
        headers={
            "Content-Type": "application/json",
            "User-Agent": "questlog-pilots",
            **key_headers(),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as error:
        detail = json.loads(error.read() or b"{}").get("detail", error.reason)
        if isinstance(detail, list):  # FastAPI's own validation errors
            detail = "; ".join(f"{'.'.join(map(str, d['loc'][1:]))}: {d['msg']}" for d in detail)
        raise RegistryRefused(f"{error.code}: {detail}") from None
    except urllib.error.URLError as error:
        raise RegistryRefused(
            f"the ingest API at {api_url} is unreachable ({error.reason}); is the stack up? "
            "(make up)"
        ) from None


def create(api_url: str, say: Say, pilot: str, alliance: str, ship: str, player: str) -> None:
    enrolled = call(
        api_url,
        "POST",
        "/v1/pilots",
        {"pilot": pilot, "alliance": alliance, "ship": ship, "player": player},
    )
    say(
        f"Enrolled {enrolled['pilot']}: {enrolled['ship']} of the {enrolled['alliance']} "
        f"fleet, {enrolled['ship_cost']:,} credits (event {enrolled['event_id']})"
    )


def fit(api_url: str, say: Say, pilot: str, weapons: dict[str, int]) -> None:
    fitted = call(api_url, "POST", f"/v1/pilots/{urllib.parse.quote(pilot)}/fittings", weapons)
    latest = fitted["fittings"][-1]
    say(
        f"Fitted {fitted['pilot']}'s {fitted['ship']}: "
        + ", ".join(f"{latest[w]} {w.replace('_', ' ')}" for w in weapons)
    )


def show(api_url: str, say: Say, limit: int | None) -> None:
    listed = call(api_url, "GET", "/v1/pilots" + (f"?limit={limit}" if limit else ""))
    columns = ["pilot", "alliance", "ship", "ship_cost", "player", "fittings", "enrolled_at"]
    rows = [[p[c] if c != "fittings" else len(p[c]) for c in columns] for p in listed["pilots"]]
    shown = f"the latest {len(rows)} of " if len(rows) < listed["total"] else ""
    for line in format_table(Answer("pilots", "Pilots", columns, rows)):
        say(line)
    say(f"({shown}{listed['total']:,} pilots)")


def replay(api_url: str, say: Say) -> None:
    counts = call(api_url, "POST", "/v1/pilots/replay")["replayed"]
    say(
        f"Replayed {counts['enrol_pilot']:,} enrolments and {counts['fit_ship']:,} fittings "
        "into the pipeline, each with its original event id."
    )

import json
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from questlog_catalog import load_catalog

from questlog.traffic import EVENT_MIX, post_for, sample_events


def test_sample_events_are_valid_and_cover_the_game() -> None:
    events = sample_events(2000, random.Random(7))
    catalog = load_catalog()
    invalid = [e for e in events if not catalog[e["event_type"]].validator.is_valid(e)]
    assert not invalid, invalid[:3]
    assert {e["event_type"] for e in events} == set(EVENT_MIX)
    swords = sum(e["event_type"] == "purchase_sword" for e in events)
    peace = sum(e["event_type"] == "declare_peace" for e in events)
    assert swords > 3 * peace, "the mix weights the common events"


class Api(BaseHTTPRequestHandler):
    """The ingest API's answers as the load client sees them: 503 while ``failing`` is
    above 0 (then one fewer), else 202 for every event posted."""

    failing: ClassVar[int] = 0
    bodies: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).bodies.append(body)
        if type(self).failing:
            type(self).failing -= 1
            self.send_response(503)
            self.send_header("Retry-After", "0")
            self.end_headers()
            return
        events = json.loads(body)["events"]
        answer = {
            "accepted": [{"index": i, "event_id": e["event_id"]} for i, e in enumerate(events)]
        }
        data = json.dumps(answer).encode()
        self.send_response(202)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    Api.failing, Api.bodies = 0, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_a_batch_answered_503_is_posted_again_with_the_same_ids(api: str) -> None:
    Api.failing = 2
    summary = post_for(api, 0.2, "test", random.Random(1))
    assert Api.bodies[0] == Api.bodies[1] == Api.bodies[2] != Api.bodies[3]
    assert summary["outcomes"]["503"] == 2
    assert summary["accepted"] == summary["distinct"] == 50 * (len(Api.bodies) - 2)
    assert summary["unsent"] == 0


def test_a_batch_still_refused_after_the_run_is_given_up_and_counted(
    api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("questlog.traffic.RESEND_SECONDS", 0.3)
    Api.failing = 10**6
    summary = post_for(api, 0.1, "test", random.Random(1))
    assert len(set(Api.bodies)) == 1 and len(Api.bodies) > 2
    assert summary["accepted"] == 0 and summary["unsent"] == 50

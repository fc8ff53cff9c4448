"""Players of the game against the ingest API, as Locust users.

* ``Player``: enrols a pilot, then buys swords, axes and shields, joins guilds, declares
  war and peace and fits its ship through the original game routes, and now and then
  sends an event as JSON; each player has its own user id, User-Agent and Host (one of
  many realms and providers), as the course's players had.
* ``BatchClient``: a game server forwarding its players' events 100 at a time.
* ``ApacheBench``: the course's ``ab -n 10 -H "Host: user1.comcast.com" .../purchase_a_sword``
  loops, ten requests at a time.

Every event carries the User-Agent ``questlog-load/<run>/...``, so a run's events can be
counted in Trino afterwards. Thresholds (failure ratio, p95) are checked when Locust
quits and fail the run. Shapes are in ``loadtest/shapes/``. ``make load`` runs it.
"""

import json
import random
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar

from locust import FastHttpUser, between, constant, events, task
from locust.env import Environment
from questlog_ingest.game import ROUTES
from questlog_settings import get_load_settings

from questlog.traffic import ATTRIBUTES, key_headers, sample_events

LOAD = get_load_settings().load
RUN = LOAD.run or uuid.uuid4().hex[:12]
AGENT = f"questlog-load/{RUN}"
# Every request carries the write key of QUESTLOG_WRITE_KEY (the game routes need one
# only where a deployment says so).
AUTHORIZATION = key_headers()

REALMS = ["eu", "us", "asia", "oce"]
PROVIDERS = ["comcast.com", "att.com", "verizon.net", "bt.co.uk", "orange.fr", "ntt.jp"]
ROUTE_ANSWERS = {route.path: route.answer for route in ROUTES}
accepted: Counter[str] = Counter()


class GameClient(FastHttpUser):
    abstract = True

    def call_route(self, path: str, user_id: str, headers: dict[str, str]) -> None:
        """GET a game route; it answers its text once Kafka has the event."""
        url = f"{path}?user_id={user_id}"
        with self.client.get(url, name=path, headers=headers, catch_response=True) as response:
            if response.status_code != 200 or response.text != ROUTE_ANSWERS[path]:
                response.failure(f"{response.status_code} {response.text[:100]!r}")
            else:
                accepted[type(self).__name__] += 1


def game_route(path: str) -> Callable[["Player"], None]:
    """A player's task: call the game route ``path``."""

    def call(player: "Player") -> None:
        player.call_route(path, player.user_id, player.headers)

    call.__name__ = f"call {path}"
    return call


class Player(GameClient):
    weight = 8
    wait_time = between(0.5, 2.0)
    # The game routes a player calls, by how often (relative to send_event's 8).
    tasks: ClassVar[dict[Callable[["Player"], None], int]] = {
        game_route(path): weight
        for path, weight in {
            "/purchase_a_sword": 30,
            "/purchase_an_axe": 12,
            "/purchase_a_shield": 12,
            "/join_a_guild": 20,
            "/declare_a_war": 6,
            "/declare_peace": 6,
            "/Fit_ship": 6,
        }.items()
    }

    def on_start(self) -> None:
        self.user_id = f"player-{uuid.uuid4().hex[:10]}"
        host = f"{random.choice(REALMS)}.user{random.randrange(1000)}.{random.choice(PROVIDERS)}"
        self.headers = {"Host": host, "User-Agent": f"{AGENT}/player", **AUTHORIZATION}
        self.call_route("/Enrol_pilot", self.user_id, self.headers)

    @task(8)
    def send_event(self) -> None:
        """One event as JSON, with the client's own event_id, through the v1 API."""
        event = {
            "event_type": "purchase_sword",
            "event_id": str(uuid.uuid4()),
            "user_id": self.user_id,
            **ATTRIBUTES["purchase_sword"](random.Random()),
        }
        with self.rest("POST", "/v1/events", json=event, headers=self.headers) as response:
            assert response.status_code == 202, f"{response.status_code},"
            assert response.js["accepted"][0]["event_id"] == event["event_id"]
            accepted["Player"] += 1


class BatchClient(FastHttpUser):
    weight = 1
    wait_time = between(1.0, 3.0)

    @task
    def send_batch(self) -> None:
        batch = sample_events(100, random.Random())
        headers = {"User-Agent": f"{AGENT}/batch", **AUTHORIZATION}
        with self.rest("POST", "/v1/events", json={"events": batch}, headers=headers) as response:
            assert response.status_code == 202, f"{response.status_code},"
            assert len(response.js["accepted"]) == 100, f"{response.js['rejected'][:2]},"
            accepted["BatchClient"] += 100


class ApacheBench(GameClient):
    weight = 1
    wait_time = constant(2.0)

    @task
    def ab_loop(self) -> None:
        host = random.choice(["user1.comcast.com", "user2.att.com"])
        headers = {"Host": host, "User-Agent": f"{AGENT}/ab", **AUTHORIZATION}
        for _ in range(10):
            self.call_route("/purchase_a_sword", "ab-user", headers)


@events.quitting.add_listener
def check_thresholds(environment: Environment, **_: Any) -> None:
    stats = environment.stats.total
    p95 = stats.get_response_time_percentile(0.95) or 0.0
    failed = []
    if stats.num_requests == 0:
        failed.append("no request was made")
    if stats.fail_ratio > LOAD.max_failure_ratio:
        failed.append(f"failure ratio {stats.fail_ratio:.2%} > {LOAD.max_failure_ratio:.2%}")
    if p95 > LOAD.max_p95_ms:
        failed.append(f"p95 {p95:.0f} ms > {LOAD.max_p95_ms:.0f} ms")
    for reason in failed:
        print(f"THRESHOLD FAILED: {reason}")
    if failed:
        environment.process_exit_code = 1
    if LOAD.summary:
        summary = {
            "run": RUN,
            "agent_prefix": AGENT,
            "accepted": dict(accepted),
            "requests": stats.num_requests,
            "failures": stats.num_failures,
            "p95_ms": p95,
            "thresholds_failed": failed,
        }
        # One line, written at once: in a Job's log (QUESTLOG__LOAD__SUMMARY /dev/stdout) nothing
        # cuts into it.
        with open(LOAD.summary, "w") as file:
            file.write(json.dumps(summary) + "\n")

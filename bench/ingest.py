"""``make bench``: the ingest API measured side by side with its baselines, in one run.

Three figures, each a ratio of two loads run under the same conditions on this machine:

1. accepted events/s of questlog's API vs the original Flask + kafka-python game API
   (``../shared/baselines/seed_game_api.py``), under the same load: the same game route,
   and questlog's 100-event batches at the same concurrency;
2. single-event ``POST /v1/events`` req/s vs a no-op route in the same process;
3. 100-event batches vs single events on ``POST /v1/events``, in events/s.

Loads come from ``hey`` (bounded in time, loopback only). The loads of one round run one
after another and every ratio is taken within a round, so the machine's drift affects both
sides alike; the figure is the median over the rounds.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bench import BASELINES, hey
from bench.figures import Figure, run_alone
from bench.stack import expect, running_stack, settle
from questlog.settings import REPO_ROOT, Settings
from questlog.stack.components import API_COMMAND, REGISTRY_COMMAND
from questlog.stack.probes import NotReady, http_ready

SEED_APP = BASELINES / "seed_game_api.py"
REPORT = REPO_ROOT / "reports" / "bench-ingest.md"
BATCH = 100
SWORD = {
    "event_type": "purchase_sword",
    "user_id": "player-1",
    "sword_type": "katana",
    "sword_cost": 300,
    "strength": 7.5,
}


@dataclass(frozen=True)
class Load:
    name: str
    path: str
    status: int  # the status that means accepted
    events_per_request: int
    body: Path | None = None
    seed: bool = False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(ready: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: {what} did not start within {timeout:.0f} s")
        time.sleep(0.3)


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def ready(port: int) -> bool:
    """Whether the service at ``port`` (an API's, a registry's) answers ready."""
    try:
        http_ready(f"http://127.0.0.1:{port}/readyz")
        return True
    except NotReady:
        return False


@contextmanager
def process(command: list[str], env: dict[str, str], log: Path) -> Iterator[None]:
    with log.open("w") as out:
        child = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT
        )
    try:
        yield
    finally:
        child.terminate()
        child.wait(30)


def api_env(settings: Settings, work: Path) -> dict[str, str]:
    """The environment of a bench's own API and registry (``own_registry``): the stack's
    Kafka, but topics and a registry of its own, so the benchmark's events and write keys
    stay out of the pipeline."""
    return {
        **os.environ,
        "QUESTLOG__KAFKA__BOOTSTRAP": settings.kafka.bootstrap,
        "QUESTLOG__KAFKA__EVENTS_TOPIC": "bench.events",
        "QUESTLOG__KAFKA__INVALID_TOPIC": "bench.events.invalid",
        "QUESTLOG__REGISTRY__URL": f"http://127.0.0.1:{free_port()}",
        "QUESTLOG__REGISTRY__DATABASE_URL": f"sqlite:///{work / 'registry.db'}",
    }


@contextmanager
def own_registry(env: dict[str, str], work: Path) -> Iterator[None]:
    """The bench's own pilot registry (whose write keys its API checks), where ``env`` says."""
    port = str(urlsplit(env["QUESTLOG__REGISTRY__URL"]).port)
    command = [sys.executable, "-m", *REGISTRY_COMMAND, "--host", "127.0.0.1", "--port", port]
    with process(command, env, work / "registry.log"):
        wait_until(lambda: ready(int(port)), "the pilot registry")
        yield


def create_write_key(env: dict[str, str]) -> str:
    """A new write key in the registry of ``env``, as every client must send one."""
    created = subprocess.run(
        [sys.executable, "-m", "questlog_registry.keys", "create", "bench"],
        env=env,
        capture_output=True,
        text=True,
    )
    if created.returncode != 0:
        raise SystemExit(f"bench: no write key for the bench's own API: {created.stderr}")
    return created.stdout.strip()


def ratio(numerators: list[float], denominators: list[float]) -> float:
    """The median of the per-round ratios."""
    return statistics.median(n / d for n, d in zip(numerators, denominators, strict=True))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=8, help="length of each load")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)


# --quick: sizes that take seconds.
QUICK = {"seconds": 1, "rounds": 1}


def main(argv: list[str] | None = None) -> int:
    return run_alone(__doc__, add_arguments, run, REPORT, argv, QUICK)


def run(args: argparse.Namespace) -> list[Figure]:
    """The figures; the loads' own rates and p99s are printed on the way."""
    if not SEED_APP.exists():
        raise SystemExit(f"bench: the baseline {SEED_APP} is missing; see bench/README.md")
    load_generator = hey.binary()
    settings = running_stack()
    say = print
    settle(settings, args)
    api_port, seed_port = free_port(), free_port()
    work = Path(tempfile.mkdtemp(prefix="questlog-bench-"))
    (work / "single.json").write_text(json.dumps(SWORD))
    (work / "batch.json").write_text(json.dumps({"events": [SWORD] * BATCH}))
    loads = [
        Load("seed app: GET /purchase_a_sword", "/purchase_a_sword", 200, 1, seed=True),
        Load("questlog: GET /purchase_a_sword", "/purchase_a_sword", 200, 1),
        Load("questlog: POST /v1/events, 1 event", "/v1/events", 202, 1, work / "single.json"),
        Load(
            f"questlog: POST /v1/events, {BATCH} events",
            "/v1/events",
            202,
            BATCH,
            work / "batch.json",
        ),
        Load("questlog: POST /v1/noop (no-op route)", "/v1/noop", 202, 1, work / "single.json"),
    ]
    env = {
        **api_env(settings, work),
        "QUESTLOG__API__ENABLE_NOOP_ROUTE": "true",
        # (The seed app, kept as it was written, always publishes to `events`.)
        "KAFKA_BOOTSTRAP": settings.kafka.bootstrap,
    }
    api = [sys.executable, "-m", *API_COMMAND, "--host", "127.0.0.1", "--port", str(api_port)]
    seed = [sys.executable, "-m", "flask", "--app", str(SEED_APP), "run", "--port", str(seed_port)]
    # Every load sends the write key (the seed app ignores it), as every client must.
    key = create_write_key(env)
    headers = {"Authorization": f"Bearer {key}"}
    results: dict[str, list[hey.LoadResult]] = {load.name: [] for load in loads}
    with (
        own_registry(env, work),
        process(api, env, work / "api.log"),
        process(seed, env, work / "seed.log"),
    ):
        wait_until(lambda: ready(api_port), "questlog's API")
        wait_until(lambda: listening(seed_port), "the seed app")
        say(
            f"\nWarming up; then {args.rounds} rounds of {len(loads)} loads, "
            f"{args.seconds:g} s each at concurrency {args.concurrency} ..."
        )

        def url(load: Load) -> str:
            return f"http://127.0.0.1:{seed_port if load.seed else api_port}{load.path}"

        def measure(load: Load, seconds: float) -> hey.LoadResult:
            # The seed app publishes to the pipeline's topic: the stream lands its events
            # before the next load starts, not while that load is measured.
            settle(settings, args)
            line = hey.command(
                load_generator, url(load), seconds, args.concurrency, load.body, headers
            )
            return hey.run(line)

        for load in loads:
            body = load.body.read_bytes() if load.body else None
            answer = httpx.request(
                "POST" if body else "GET",
                url(load),
                content=body,
                headers={**headers, "Content-Type": "application/json"},
                timeout=30,
            )
            expect(answer, load.status, f"{load.name} (once, before its load)")
            if not args.quick:
                measure(load, 2)  # warm-up
        for round_number in range(1, args.rounds + 1):
            for load in loads:
                say(f"  round {round_number}/{args.rounds}: {load.name}")
                result = measure(load, args.seconds)
                unexpected = {s: n for s, n in result.statuses.items() if s != load.status}
                if any(400 <= status < 500 for status in unexpected):
                    raise SystemExit(f"bench: {load.name} was answered {result.statuses}")
                if unexpected:
                    say(f"    unexpected answers: {unexpected}")
                results[load.name].append(result)
    say("\n" + _loads_table(loads, results, args))
    return _figures(loads, results)


def _loads_table(
    loads: list[Load], results: dict[str, list[hey.LoadResult]], args: argparse.Namespace
) -> str:
    lines = [
        f"Ingest benchmark: {args.rounds} rounds x {args.seconds:g} s per load, concurrency "
        f"{args.concurrency}, medians over rounds.",
        "",
        "| load | accepted events/s | p99 |",
        "|---|---:|---:|",
    ]
    for load in loads:
        rate = statistics.median(_events(load, results))
        lines.append(f"| {load.name} | {rate:,.0f} | {_p99_ms(load, results):.0f} ms |")
    return "\n".join(lines)


def _events(load: Load, results: dict[str, list[hey.LoadResult]]) -> list[float]:
    return [r.rate_of(load.status) * load.events_per_request for r in results[load.name]]


def _p99_ms(load: Load, results: dict[str, list[hey.LoadResult]]) -> float:
    return statistics.median(r.p99_seconds for r in results[load.name]) * 1000


def _figures(loads: list[Load], results: dict[str, list[hey.LoadResult]]) -> list[Figure]:
    seed, game, single, batch, noop = loads

    def compare(
        name: str, a: Load, b: Load, goal: float, unit: str = "events/s", percent: bool = False
    ) -> Figure:
        value = ratio(_events(a, results), _events(b, results))
        rates = (statistics.median(_events(x, results)) for x in (a, b))
        measured = " vs ".join(f"{rate:,.0f}" for rate in rates) + f" {unit}"
        wanted = f">= {goal:.0%}" if percent else f">= {goal:g}x"
        return Figure(name, measured, value, wanted, value >= goal, percent)

    worst = max(_p99_ms(game, results), _p99_ms(single, results))
    return [
        compare("ingest: events/s, game route vs seed app", game, seed, 10),
        compare(f"ingest: {BATCH}-event batches vs seed app", batch, seed, 10),
        compare("ingest: single-event POST vs no-op route", single, noop, 0.75, "req/s", True),
        compare(f"ingest: {BATCH}-event batches vs single events", batch, single, 10),
        Figure(
            "ingest: p99, game route / single-event POST",
            f"{_p99_ms(game, results):.0f} ms / {_p99_ms(single, results):.0f} ms",
            goal="<= 50 ms",
            met=worst <= 50,
        ),
    ]


if __name__ == "__main__":
    sys.exit(main())

"""``make bench-flood``: a keyed client's p99 alone and during a flood of unauthenticated
requests, side by side in one run.

The keyed client sends single events at a steady rate with its write key, from one
address; the flood comes unbounded from a few other addresses' connections, with no key,
so the per-address limit refuses most of it. Addresses are set with ``X-Forwarded-For``,
which the API believes because the bench's loopback is its trusted proxy. The same loads
run against an API whose refusals are answered at once (no refusal delay), to show what
the delay holds back. Loopback only, bounded in time.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from bench import hey
from bench.figures import Figure, run_alone
from bench.ingest import (
    SWORD,
    api_env,
    create_write_key,
    free_port,
    own_registry,
    process,
    ratio,
    ready,
    wait_until,
)
from bench.stack import expect, running_stack
from questlog.settings import REPO_ROOT
from questlog.stack.components import API_COMMAND

REPORT = REPO_ROOT / "reports" / "bench-flood.md"
PER_ADDRESS = "200/second"
KEYED_ADDRESS = "198.51.100.1"
KEYED_CONNECTIONS = 4
KEYED_RATE = 25.0  # per connection, requests per second
FLOOD_ADDRESSES = [f"203.0.113.{n}" for n in range(1, 5)]
FLOOD_CONNECTIONS = 8  # per flooding address


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--flood-seconds", type=float, default=10, help="length of each load")
    parser.add_argument("--flood-rounds", type=int, default=3)


# --quick: sizes that take seconds.
QUICK = {"flood_seconds": 1, "flood_rounds": 1}


def main(argv: list[str] | None = None) -> int:
    return run_alone(__doc__, add_arguments, run, REPORT, argv, QUICK)


def run(args: argparse.Namespace) -> list[Figure]:
    load_generator = hey.binary()
    settings = running_stack()
    work = Path(tempfile.mkdtemp(prefix="questlog-bench-flood-"))
    body = work / "single.json"
    body.write_text(json.dumps(SWORD))
    env = {
        **api_env(settings, work),
        "QUESTLOG__API__TRUSTED_PROXIES": '["127.0.0.1/32"]',
        "QUESTLOG__API__RATE_LIMIT_PER_ADDRESS": PER_ADDRESS,
    }
    key = create_write_key(env)
    delays = {"refusal delay 1 s": "1", "no refusal delay": "0"}
    p99s: dict[tuple[str, str], list[float]] = {}
    flood_rates: dict[str, list[float]] = {name: [] for name in delays}
    with ExitStack() as running:
        running.enter_context(own_registry(env, work))
        ports = {}
        for name, delay in delays.items():
            ports[name] = free_port()
            api = [*API_COMMAND, "--host", "127.0.0.1", "--port", str(ports[name])]
            delayed = {**env, "QUESTLOG__API__REFUSAL_DELAY_SECONDS": delay}
            log = work / f"api-{delay}.log"
            running.enter_context(process([sys.executable, "-m", *api], delayed, log))
        for port in ports.values():
            wait_until(lambda port=port: ready(port), "questlog's API")
        print(
            f"\n{args.flood_rounds} rounds; each: the keyed client alone, then during a flood "
            f"from {len(FLOOD_ADDRESSES)} addresses x {FLOOD_CONNECTIONS} connections, "
            f"{args.flood_seconds:g} s each, per-address limit {PER_ADDRESS} ..."
        )
        for port in ports.values():
            url = f"http://127.0.0.1:{port}/v1/events"
            for headers, status in ((_keyed_headers(key), 202), (_flood_headers(), 401)):
                sent = {**headers, "Content-Type": "application/json"}
                answer = httpx.post(url, content=body.read_bytes(), headers=sent, timeout=30)
                expect(answer, status, f"a request with the headers {headers}")
            _keyed(load_generator, url, body, key, min(2, args.flood_seconds))  # warm-up
        for round_number in range(1, args.flood_rounds + 1):
            for name, port in ports.items():
                url = f"http://127.0.0.1:{port}/v1/events"
                print(f"  round {round_number}/{args.flood_rounds}: {name}")
                alone = _keyed(load_generator, url, body, key, args.flood_seconds)
                flood = _flood(load_generator, url, body, args.flood_seconds + 2, work)
                with flood as reports:
                    time.sleep(1)  # the flood is at full rate before the client is timed
                    flooded = _keyed(load_generator, url, body, key, args.flood_seconds)
                floods = [hey.parse(report.read_text()) for report in reports]
                rate = sum(f.requests_per_second for f in floods)
                refused = sum(f.rate_of(429) for f in floods)
                flood_rates[name].append(rate)
                print(
                    f"    keyed p99 {alone.p99_seconds * 1000:.0f} ms alone, "
                    f"{flooded.p99_seconds * 1000:.0f} ms flooded; "
                    f"flood {rate:,.0f} req/s, {refused:,.0f} of them 429"
                )
                for load, result in (("alone", alone), ("flooded", flooded)):
                    if set(result.statuses) != {202}:
                        print(f"    the keyed client got {result.statuses} {load}")
                    p99s.setdefault((name, load), []).append(result.p99_seconds * 1000)
    return [_figure(name, p99s, flood_rates[name], name == "refusal delay 1 s") for name in delays]


def _keyed_headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-Forwarded-For": KEYED_ADDRESS}


def _flood_headers(address: str = FLOOD_ADDRESSES[0]) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def _keyed(load_generator: Path, url: str, body: Path, key: str, seconds: float) -> hey.LoadResult:
    headers = _keyed_headers(key)
    line = hey.command(load_generator, url, seconds, KEYED_CONNECTIONS, body, headers, KEYED_RATE)
    return hey.run(line)


@contextmanager
def _flood(
    load_generator: Path, url: str, body: Path, seconds: float, work: Path
) -> Iterator[list[Path]]:
    """Unbounded loads with no key from each flooding address, running while the block
    runs; yields the files their reports are in (complete once the block has ended)."""
    reports = [work / f"flood-{address}.txt" for address in FLOOD_ADDRESSES]
    floods = []
    for address, report in zip(FLOOD_ADDRESSES, reports, strict=True):
        headers = _flood_headers(address)
        line = hey.command(load_generator, url, seconds, FLOOD_CONNECTIONS, body, headers)
        with report.open("w") as out:
            floods.append(subprocess.Popen(line, stdout=out, stderr=subprocess.STDOUT))
    try:
        yield reports
    finally:
        for flood in floods:
            flood.wait(seconds + 30)


def _figure(
    name: str, p99s: dict[tuple[str, str], list[float]], floods: list[float], goal: bool
) -> Figure:
    value = ratio(p99s[(name, "flooded")], p99s[(name, "alone")])
    flooded, alone = (statistics.median(p99s[(name, load)]) for load in ("flooded", "alone"))
    flood = statistics.median(floods)
    measured = f"{flooded:.0f} vs {alone:.0f} ms (flood of {flood:,.0f} req/s)"
    title = f"ingest: keyed p99, unauthenticated flood vs alone, {name}"
    if not goal:
        return Figure(title, measured, value)
    return Figure(title, measured, value, "<= 2x", value <= 2)


if __name__ == "__main__":
    sys.exit(main())

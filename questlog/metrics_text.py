"""Reading Prometheus' text exposition format, standard library only, and
``python -m questlog.metrics_text``: wait until an endpoint's metric has a value (the
streaming app's Helm test runs it in the Spark image)."""

import argparse
import sys
import time
import urllib.request


def metric_sum(text: str, name: str) -> float:
    """The sum over its label sets of metric ``name`` (0 when it has no sample)."""
    total = 0.0
    for line in text.splitlines():
        sample, _, value = line.rpartition(" ")
        if sample.split("{", 1)[0] == name:
            total += float(value)
    return total


def scrape(url: str, timeout: float = 10.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        body: bytes = response.read()
        return body.decode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m questlog.metrics_text", description=__doc__)
    parser.add_argument("--url", required=True, help="the Prometheus endpoint")
    parser.add_argument("--metric", required=True)
    parser.add_argument("--equals", type=float, required=True)
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            value: float | str = metric_sum(scrape(args.url), args.metric)
        except OSError as error:
            value = f"no answer ({error})"
        shown = f"{value:g}" if isinstance(value, float) else value
        if value == args.equals:
            print(f"OK: {args.metric} = {shown} at {args.url}")
            return 0
        if time.monotonic() > deadline:
            print(f"FAILED: {args.metric} is {shown}, not {args.equals:g}", file=sys.stderr)
            return 1
        print(f"  {args.metric}: {shown}; waiting ...", flush=True)
        time.sleep(5)


if __name__ == "__main__":
    sys.exit(main())

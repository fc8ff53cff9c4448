"""``questlog``: the command line behind the Makefile's verbs."""

import argparse
import os
import subprocess
import sys

from pydantic import ValidationError

from questlog import demo, load, report
from questlog.settings import get_settings
from questlog.stack import lifecycle, supervisor
from questlog.stack.components import COMPONENTS
from questlog.stack.install import SetupError, install
from questlog.stack.java import system_java
from questlog.stack.probes import NotReady
from questlog.stack.spark import spark_submit


def _say(line: str) -> None:
    print(line, flush=True)


def cmd_setup(_: argparse.Namespace) -> int:
    _say("Fetching the pinned Java components (cached under the download cache):")
    install(get_settings(), system_java(), _say)
    return 0


def cmd_up(_: argparse.Namespace) -> int:
    lifecycle.up(get_settings(), _say)
    return 0


def cmd_status(_: argparse.Namespace) -> int:
    for line in lifecycle.format_status(lifecycle.status(get_settings())):
        _say(line)
    return 0


def cmd_down(_: argparse.Namespace) -> int:
    lifecycle.down(get_settings(), _say)
    return 0


def cmd_clean(_: argparse.Namespace) -> int:
    lifecycle.clean(get_settings(), _say)
    return 0


def cmd_demo(_: argparse.Namespace) -> int:
    demo.run(get_settings(), _say)
    return 0


def cmd_report(_: argparse.Namespace) -> int:
    report.run(get_settings(), _say)
    return 0


def cmd_compact(args: argparse.Namespace) -> int:
    options = [
        f"--{name.replace('_', '-')}={value}"
        for name, value in vars(args).items()
        if name in ("table", "date", "min_files", "grace_minutes") and value is not None
    ]
    spark_submit(get_settings(), "compact", *options)
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    result = load.run(
        get_settings(), _say, shape=args.shape, users=args.users, seconds=args.seconds
    )
    return 1 if result.problems else 0


def cmd_logs(args: argparse.Namespace) -> int:
    settings = get_settings()
    names = [args.component] if args.component else [c.name for c in COMPONENTS]
    paths = [str(supervisor.log_file(settings, name)) for name in names]
    if args.follow:
        os.execvp("tail", ["tail", "-n", str(args.lines), "-F", *paths])
    for name, path in zip(names, paths, strict=True):
        _say(f"==> {name}: {path} <==")
        _say(supervisor.tail(supervisor.log_file(settings, name), args.lines))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="questlog", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("setup", help="fetch Kafka, Trino and the Spark connector").set_defaults(
        run=cmd_setup
    )
    commands.add_parser("up", help="start the local stack and wait until it answers").set_defaults(
        run=cmd_up
    )
    commands.add_parser("status", help="which components run, where, how much memory").set_defaults(
        run=cmd_status
    )
    commands.add_parser("down", help="stop the local stack, keeping its data").set_defaults(
        run=cmd_down
    )
    commands.add_parser("clean", help="stop the stack and delete its data").set_defaults(
        run=cmd_clean
    )
    commands.add_parser(
        "demo", help="start the stack, send sample events through it, print a report"
    ).set_defaults(run=cmd_demo)
    commands.add_parser(
        "report", help="run the analytics report's SQL on Trino, print it, draw its chart"
    ).set_defaults(run=cmd_report)
    compact = commands.add_parser(
        "compact", help="rewrite partitions of many small files into one file each"
    )
    compact.add_argument("--table", help="only this table (default: every table)")
    compact.add_argument("--date", help="only this event_date, YYYY-MM-DD (default: every date)")
    compact.add_argument("--min-files", type=int, help="only partitions with this many files (2)")
    compact.add_argument("--grace-minutes", type=float, help="keep replaced files this long (30)")
    compact.set_defaults(run=cmd_compact)
    load_run = commands.add_parser(
        "load", help="a headless Locust run against the stack, then reconcile it in Trino"
    )
    load_run.add_argument("--shape", choices=load.SHAPES, default="ramp")
    load_run.add_argument("--users", type=int, default=50)
    load_run.add_argument("--seconds", type=float, default=120)
    load_run.set_defaults(run=cmd_load)
    logs = commands.add_parser("logs", help="show (or follow) the components' logs")
    logs.add_argument("component", nargs="?", choices=[c.name for c in COMPONENTS])
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("-n", "--lines", type=int, default=40)
    logs.set_defaults(run=cmd_logs)

    args = parser.parse_args(argv)
    try:
        get_settings()
    except ValidationError as error:
        messages = "; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())
        print(f"questlog {args.command}: invalid settings: {messages}", file=sys.stderr)
        return 2
    try:
        return int(args.run(args))
    except (
        SetupError,
        lifecycle.StackError,
        NotReady,
        OSError,  # the API or Trino could not be reached
        subprocess.CalledProcessError,
    ) as error:
        print(f"questlog {args.command}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""``questlog``: the command line behind the Makefile's verbs."""

import argparse
import os
import subprocess
import sys
from pathlib import Path

from questlog_catalog.fleets import WEAPONS
from questlog_registry import keys
from questlog_settings import RegistrySettings, SettingsError, env_name, narrow
from questlog_spark import compact_options

from questlog import demo, load, pilots, publish, report
from questlog.assessments.generate import DEFAULT_RECORDS, DEFAULT_SEED, generate
from questlog.images import IMAGES
from questlog.images import build as images
from questlog.images.bases import BaseError
from questlog.images.context import ContextError
from questlog.images.engine import ImageError
from questlog.k8s import Node
from questlog.k8s import cluster as k8s_cluster
from questlog.k8s.images import ImageMissing
from questlog.settings import get_settings
from questlog.stack import lifecycle, supervisor, write_key
from questlog.stack.components import COMPONENTS
from questlog.stack.install import SetupError, install
from questlog.stack.java import system_java
from questlog.stack.probes import NotReady, QueryFailed, kafka_topics
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
    spark_submit(get_settings(), "compact", *compact_options.job_arguments(args))
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    settings = get_settings()
    key = settings.personal_data_key_file
    env = {env_name("personal_data_key"): key.read_text().strip()} if key.exists() else {}
    spark_submit(settings, "forget", args.user_id, env=env)
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    kind = publish.record_kind(args.topic)
    publish.publish_file(get_settings(), args.file, args.topic, kind, _say)
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    result = load.run(
        get_settings(), _say, shape=args.shape, users=args.users, seconds=args.seconds
    )
    return 1 if result.problems else 0


def cmd_pilots(args: argparse.Namespace) -> int:
    api = get_settings().api.url
    if args.action == "create":
        pilots.create(api, _say, args.name, args.alliance, args.ship, args.player)
    elif args.action == "fit":
        pilots.fit(api, _say, args.name, {weapon: getattr(args, weapon) for weapon in WEAPONS})
    elif args.action == "list":
        pilots.show(api, _say, args.limit)
    else:
        pilots.replay(api, _say)
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    return keys.carry_out(args, narrow(get_settings(), RegistrySettings), "questlog keys")


def cmd_assessments(args: argparse.Namespace) -> int:
    if args.action == "generate":
        _say(generate(args.file, args.records, args.seed).describe())
        return 0
    settings = get_settings()
    topic = settings.kafka.assessments_topic
    if topic not in kafka_topics(settings.kafka.bootstrap):
        raise lifecycle.StackError(
            f"Kafka has no topic {topic!r}: load a file into it first "
            f"(questlog publish FILE --topic {topic})"
        )
    spark_submit(settings, "assessments")
    return 0


def positive(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def cmd_images(args: argparse.Namespace) -> int:
    built = images.build(get_settings(), args.names, _say, fresh=args.no_cache)
    for line in images.summary(built):
        _say(line)
    return 0


def cmd_k8s(args: argparse.Namespace) -> int:
    node = Node(cache_dir=get_settings().cache_dir)
    if args.action == "up":
        k8s_cluster.up(node, _say)
    elif args.action == "down":
        k8s_cluster.down(node, _say)
    else:
        for line in k8s_cluster.status(node):
            _say(line)
    return 0


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
        "demo", help="start the stack, send events through it, build the assessments, report"
    ).set_defaults(run=cmd_demo)
    commands.add_parser(
        "report", help="run the analytics report's SQL on Trino, print it, draw its chart"
    ).set_defaults(run=cmd_report)
    compact = commands.add_parser(
        "compact",
        help="maintain the lake's Iceberg tables: compact small files, rewrite manifests, "
        "expire old snapshots, remove orphan files",
    )
    compact_options.add_options(compact).set_defaults(run=cmd_compact)
    forget = commands.add_parser(
        "forget",
        help="erase a user's rows from every event table (Iceberg row-level deletes) and "
        "record it in the audit table erasures",
    )
    forget.add_argument("user_id", help="the user, as the events name them")
    forget.set_defaults(run=cmd_forget)
    load_run = commands.add_parser(
        "load", help="a headless Locust run against the stack, then reconcile it in Trino"
    )
    load_run.add_argument("--shape", choices=load.SHAPES, default="ramp")
    load_run.add_argument("--users", type=int, default=50)
    load_run.add_argument("--seconds", type=float, default=120)
    load_run.set_defaults(run=cmd_load)
    published = commands.add_parser(
        "publish", help="publish a file of JSON records to a Kafka topic, each checked first"
    )
    published.add_argument("file", type=Path, help="JSON Lines, or one JSON array")
    published.add_argument(
        "--topic", required=True, help=f"the topic it goes to: {', '.join(publish.LOADABLE)}"
    )
    published.set_defaults(run=cmd_publish)
    pilot_commands = commands.add_parser(
        "pilots", help="the space game's pilot registry, through the ingest API"
    ).add_subparsers(dest="action", required=True)
    create = pilot_commands.add_parser("create", help="enrol a pilot (emits enrol_pilot)")
    create.add_argument("name", help="unique pilot name (case-insensitive)")
    create.add_argument("--alliance", required=True, help="Federation, Empire or Free Traders")
    create.add_argument("--ship", required=True, help="a ship of the alliance's fleet")
    create.add_argument("--player", default="cli-player", help="the player's user id")
    fit = pilot_commands.add_parser("fit", help="fit weapons to a pilot's ship (emits fit_ship)")
    fit.add_argument("name")
    for weapon in WEAPONS:
        fit.add_argument(f"--{weapon.replace('_', '-')}", type=int, default=0)
    listing = pilot_commands.add_parser("list", help="the pilots, the latest enrolled first")
    listing.add_argument("--limit", type=int, help="at most this many (default: all)")
    pilot_commands.add_parser(
        "replay", help="publish every stored enrolment and fitting into the pipeline again"
    )
    for action in pilot_commands.choices.values():
        action.set_defaults(run=cmd_pilots)
    key_commands = commands.add_parser(
        "keys",
        help="create, list and revoke the write keys that may post events (keys --help)",
        description=keys.DESCRIPTION,
    )
    keys.add_actions(key_commands).set_defaults(run=cmd_keys)
    assessments = commands.add_parser(
        "assessments", help="the ed-tech project's assessment attempts"
    ).add_subparsers(dest="action", required=True)
    generated = assessments.add_parser(
        "generate", help="write a realistic JSON Lines file of nested assessment attempts"
    )
    generated.add_argument("file", type=Path, help="the file to write (and FILE.summary.json)")
    generated.add_argument(
        "--records", type=positive, default=DEFAULT_RECORDS, help="unique attempts (%(default)s)"
    )
    generated.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="the same seed writes the same file"
    )
    assessments.add_parser(
        "build", help="build the tables assessments and assessment_questions from Kafka (Spark)"
    )
    for action in assessments.choices.values():
        action.set_defaults(run=cmd_assessments)
    built = commands.add_parser(
        "images", help="build the container images (stand-in bases where no registry serves one)"
    )
    built.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"only these (and what they are built on): {', '.join(i.name for i in IMAGES)}",
    )
    built.add_argument(
        "--no-cache",
        action="store_true",
        help="build every step again, stand-in bases included, fetching everything anew",
    )
    built.set_defaults(run=cmd_images)
    cluster = commands.add_parser(
        "k8s", help="questlog's test cluster: a single-node Kubernetes on this machine"
    )
    cluster.add_argument("action", choices=["up", "down", "status"])
    cluster.set_defaults(run=cmd_k8s)
    logs = commands.add_parser("logs", help="show (or follow) the components' logs")
    logs.add_argument("component", nargs="?", choices=[c.name for c in COMPONENTS])
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("-n", "--lines", type=int, default=40)
    logs.set_defaults(run=cmd_logs)

    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as error:
        print(f"questlog {args.command}: invalid settings: {error}", file=sys.stderr)
        return 2
    write_key.export(settings)  # the loads, the demo and the bench post with the stack's key
    try:
        return int(args.run(args))
    except (
        SetupError,
        SettingsError,
        lifecycle.StackError,
        NotReady,
        QueryFailed,
        OSError,  # the API or Trino could not be reached
        subprocess.CalledProcessError,
        pilots.RegistryRefused,
        publish.PublishError,
        ImageError,
        BaseError,
        ContextError,
        k8s_cluster.ClusterError,
        ImageMissing,
    ) as error:
        print(f"questlog {args.command}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

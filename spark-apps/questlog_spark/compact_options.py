"""The maintenance job's options and their defaults, written once and without Spark: the job
(compact.py) parses its command line with them, and ``questlog compact`` offers the same
options and hands the job what it was given."""

import argparse
from dataclasses import dataclass

# A partition is compacted once it holds this many data files.
MIN_FILES = 2


@dataclass(frozen=True)
class Retention:
    hours: float = 24
    last: int = 10
    orphan_hours: float = 72


def add_options(command: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``command`` with the job's options and their defaults."""
    defaults = Retention()
    command.add_argument("--table", help="only this table (default: every event table)")
    command.add_argument("--date", help="only this event_date, YYYY-MM-DD (default: every date)")
    command.add_argument(
        "--min-files",
        type=int,
        default=MIN_FILES,
        help="compact partitions with at least this many files (%(default)s)",
    )
    command.add_argument(
        "--retain-hours",
        type=float,
        default=defaults.hours,
        help="keep snapshots this many hours: time travel reaches this far back (%(default)s)",
    )
    command.add_argument(
        "--retain-last",
        type=int,
        default=defaults.last,
        help="and at least this many (%(default)s)",
    )
    command.add_argument(
        "--orphan-hours",
        type=float,
        default=defaults.orphan_hours,
        help="remove files no snapshot knows once this many hours old, at least 24 (%(default)s)",
    )
    return command


def job_arguments(args: argparse.Namespace) -> list[str]:
    """The job's command line for the values of its options in ``args`` (parsed with them)."""
    names = vars(add_options(argparse.ArgumentParser()).parse_args([]))
    given = {name: value for name in names if (value := getattr(args, name)) is not None}
    return [f"--{name.replace('_', '-')}={value}" for name, value in given.items()]

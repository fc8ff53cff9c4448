"""The maintenance job's options and their defaults, written once and without Spark: the job
(compact.py) parses its command line with them, and ``questlog compact`` offers the same
options and hands the job what it was given."""

import argparse
from dataclasses import dataclass

# A partition is compacted once it holds this many data files.
MIN_FILES = 2
# Files no snapshot knows are removed only once at least this many hours old: until its
# commit, a write's files are known to no snapshot, and no write of questlog runs this long.
# The stream chart's schema holds the same minimum (maintenance.orphanHours).
ORPHAN_HOURS_FLOOR = 24


@dataclass(frozen=True)
class Retention:
    hours: float = 24
    last: int = 10
    orphan_hours: float = 72


def orphan_hours(text: str) -> float:
    """``--orphan-hours``, refused below the floor."""
    hours = float(text)
    if hours < ORPHAN_HOURS_FLOOR:
        raise argparse.ArgumentTypeError(
            f"{hours:g} is below the floor of {ORPHAN_HOURS_FLOOR} h: a younger file no "
            "snapshot knows may belong to a commit in flight (a write still running), whose "
            "data removing it would lose"
        )
    return hours


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
        type=orphan_hours,
        default=defaults.orphan_hours,
        help=f"remove files no snapshot knows once this many hours old, at least "
        f"{ORPHAN_HOURS_FLOOR} (%(default)s)",
    )
    return command


def job_arguments(args: argparse.Namespace) -> list[str]:
    """The job's command line for the values of its options in ``args`` (parsed with them)."""
    names = vars(add_options(argparse.ArgumentParser()).parse_args([]))
    given = {name: value for name in names if (value := getattr(args, name)) is not None}
    return [f"--{name.replace('_', '-')}={value}" for name, value in given.items()]

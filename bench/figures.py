"""The figures a benchmark reports, and their table (Markdown) and chart (PNG)."""

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


@dataclass(frozen=True)
class Figure:
    name: str
    # What was measured, side by side: "3,185 vs 504 events/s".
    measured: str
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None
    percent: bool = False

    @property
    def shown_ratio(self) -> str:
        if self.ratio is None:
            return ""
        return f"{self.ratio:.0%}" if self.percent else f"{self.ratio:.3g}x"


def markdown(figures: list[Figure]) -> str:
    lines = ["| figure | measured | ratio | goal | met |", "|---|---:|---:|---:|:---:|"]
    for f in figures:
        met = "" if f.met is None else ("yes" if f.met else "no")
        lines.append(f"| {f.name} | {f.measured} | {f.shown_ratio} | {f.goal} | {met} |")
    return "\n".join(lines)


def write_table(figures: list[Figure], path: Path, preface: str = "") -> None:
    """Print the table and write it (after ``preface``) to ``path``."""
    table = markdown(figures)
    print("\n" + table)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{preface}\n\n{table}\n" if preface else f"{table}\n")
    print(f"\n(also written to {path})")


def add_quick(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick",
        action="store_true",
        help="run every part for seconds, to check the harness works end to end: its "
        "figures mean nothing and are printed, not kept",
    )


def quickened(args: argparse.Namespace, quick: dict[str, float]) -> argparse.Namespace:
    """``args``, with a part's ``quick`` sizes when ``--quick`` was asked for."""
    return argparse.Namespace(**{**vars(args), **quick}) if args.quick else args


def run_alone(
    doc: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], list["Figure"]],
    report: Path,
    argv: list[str] | None,
    quick: dict[str, float],
) -> int:
    """One benchmark part on its own (``make bench-<part>``): its options, its table."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    add_arguments(parser)
    add_quick(parser)
    args = parser.parse_args(argv)
    figures = run(quickened(args, quick))
    if args.quick:
        print("\n" + markdown(figures))
    else:
        write_table(figures, report)
    return 0


def chart(figures: list[Figure], path: Path, title: str) -> None:
    """One bar per ratio (log scale), green where its goal is met, red where not."""
    shown = [f for f in figures if f.ratio is not None and f.ratio > 0]
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(shown) + 1.5))
    colours = ["#2a9d8f" if f.met else "#e76f51" if f.met is False else "#8d99ae" for f in shown]
    names = [f"{f.name} ({f.goal})" if f.goal else f.name for f in shown]
    ax.barh(names, [f.ratio or 0 for f in shown], color=colours)
    ax.set_xscale("log")
    ax.axvline(1, color="black", linewidth=0.8)
    ax.invert_yaxis()
    for y, f in enumerate(shown):
        ax.text(f.ratio or 0, y, f" {f.shown_ratio}", va="center", fontsize=8)
    ax.set_title(title)
    ax.set_xlabel("ratio (log scale); green: goal met, red: not met, grey: no goal")
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)

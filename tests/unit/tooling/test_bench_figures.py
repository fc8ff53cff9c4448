import argparse
from pathlib import Path

import bench.__main__ as bench_main
from bench.figures import Figure, chart, markdown

FIGURES = [
    Figure("drain", "15,000 vs 6,000 rows/s", 2.5, ">= 10x", False),
    Figure("single vs no-op", "3,300 vs 5,500 req/s", 0.6, ">= 75%", False, percent=True),
    Figure("Trino vs DuckDB", "210 ms vs 13 ms", 16.2),
    Figure("freshness", "13.1 s / 10 s", 1.3125, "<= 1.3x", False),
    Figure("p99", "22 ms / 38 ms", goal="<= 50 ms", met=True),
]


def test_table_shows_ratios_goals_and_verdicts() -> None:
    lines = markdown(FIGURES).splitlines()
    assert lines[2] == "| drain | 15,000 vs 6,000 rows/s | 2.5x | >= 10x | no |"
    assert lines[3] == "| single vs no-op | 3,300 vs 5,500 req/s | 60% | >= 75% | no |"
    assert lines[4] == "| Trino vs DuckDB | 210 ms vs 13 ms | 16.2x |  |  |"
    # three significant figures, so a ratio just over its goal does not read as the goal
    assert lines[5] == "| freshness | 13.1 s / 10 s | 1.31x | <= 1.3x | no |"
    assert lines[6] == "| p99 | 22 ms / 38 ms |  | <= 50 ms | yes |"


def test_chart_is_a_png(tmp_path: Path) -> None:
    target = tmp_path / "bench.png"
    chart(FIGURES, target, "test")
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert target.stat().st_size > 5_000


def test_every_bench_part_s_options_fit_in_one_command_line() -> None:
    # `python -m bench` gives every part's options to one parser: two parts naming the same
    # option would make it fail before measuring anything.
    parser = argparse.ArgumentParser()
    for _, part in bench_main.PARTS:
        part.add_arguments(parser)
    assert parser.parse_args(["--flood-rounds", "1", "--rounds", "2"]).flood_rounds == 1

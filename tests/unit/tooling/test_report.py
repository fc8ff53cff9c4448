import re

from questlog_catalog import load_catalog
from questlog_spark.attempts import TABLES as ASSESSMENT_TABLES
from questlog_spark.schemas import DEAD_LETTER_TABLE

from questlog.report import TABLE_NAME, Answer, asked_tables, format_table, questions


def test_every_question_has_a_title_and_asks_only_tables_the_lake_has() -> None:
    tables = {t.table for t in load_catalog().values()} | {DEAD_LETTER_TABLE, *ASSESSMENT_TABLES}
    found = questions()
    assert len(found) >= 8
    for name, (title, sql) in found.items():
        assert title and not title.startswith("-"), name
        asked = set(re.findall(TABLE_NAME, sql))
        assert asked and asked <= tables, f"{name} asks {asked - tables}"
    assert {"sword_purchases", "dead_letters", "assessments"} <= set(asked_tables())


def test_answers_print_as_aligned_columns() -> None:
    answer = Answer(
        "x", "Guilds", ["guild", "players"], [["Iron Legion", 12], ["Silver Hand", 7], [None, 0]]
    )
    assert format_table(answer) == [
        "guild        players",
        "-----------  -------",
        "Iron Legion       12",
        "Silver Hand        7",
        "                   0",
    ]
    assert format_table(Answer("y", "None", ["a"], [])) == ["a", "-", "(no rows)"]

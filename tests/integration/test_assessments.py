"""The ed-tech assessments batch on the real stack: a generated file loaded into Kafka,
built into tables by the Spark job, queried in Trino. Each answer is checked against what
is computed here from the file itself. The run has a topic, a database and a lake of its
own, so earlier runs and the shared topic do not change its answers."""

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]
from questlog_catalog import dead_letter_topic

from questlog.assessments.generate import Generated, generate
from questlog.cli import main
from questlog.publish import LOADABLE, LoadSummary, publish_file
from questlog.report import questions
from questlog.settings import Settings, get_settings
from questlog.stack.spark import spark_submit
from tests.helpers import Trino, read_topic, unique

# What the loader calls each kind of line the generator spoils.
INVALID_KIND = {"truncated": "not_json", "not_object": "not_object", "missing_field": "schema"}
ASSESSMENT_QUESTIONS = [name for name, (_, sql) in questions().items() if ".assessment" in sql]


@dataclass(frozen=True)
class Run:
    generated: Generated
    loaded: LoadSummary
    messages: list[str]
    topic: str
    database: str
    lake: Path
    env: dict[str, str]

    def attempts(self) -> list[dict[str, Any]]:
        """The file's unique attempts (the last line of each), read here without the loader."""
        lines = self.generated.path.read_text().splitlines()
        records = [
            json.loads(t) for n, t in enumerate(lines, 1) if n not in self.generated.malformed
        ]
        return list({r["user_exam_id"]: r for r in records}.values())

    def sql(self, name: str) -> str:
        """A report question, asked of this run's database."""
        return questions()[name][1].replace("hive.default.", f"hive.{self.database}.")


@pytest.fixture(scope="module")
def run(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    folder = tmp_path_factory.mktemp("assessments")
    generated = generate(folder / "attempts.jsonl", records=300, seed=11)
    topic, database = unique("assessments"), unique("assessments")
    messages: list[str] = []
    loaded = publish_file(stack, generated.path, topic, LOADABLE["assessments"], messages.append)
    env = {
        "QUESTLOG__KAFKA__ASSESSMENTS_TOPIC": topic,
        "QUESTLOG__LAKE__DATABASE": database,
        "QUESTLOG__LAKE__ROOT": (folder / "lake").as_uri(),
    }
    spark_submit(stack, "assessments", env=env)
    yield Run(generated, loaded, messages, topic, database, folder / "lake", env)
    admin = AdminClient({"bootstrap.servers": stack.kafka.bootstrap})
    for future in admin.delete_topics([topic, dead_letter_topic(topic)]).values():
        future.result(30)


def started(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["started_at"].replace("Z", "+00:00")).replace(tzinfo=None)


def test_the_loader_publishes_the_records_and_counts_the_malformed_lines(run: Run) -> None:
    generated = run.generated
    assert f"Created the Kafka topic {run.topic}." in run.messages
    assert run.loaded.read == generated.lines
    assert run.loaded.published == generated.records + generated.duplicates
    expected = Counter(INVALID_KIND[kind] for kind in generated.malformed.values())
    assert run.loaded.invalid == expected
    assert not run.loaded.failures


def test_kafka_has_every_record_and_each_malformed_line_with_its_reason(
    stack: Settings, run: Run
) -> None:
    published = read_topic(stack.kafka.bootstrap, run.topic)
    assert len(published) == run.generated.records + run.generated.duplicates
    assert all(key == json.loads(value)["user_exam_id"] for key, value in published)

    lines = run.generated.path.read_text().splitlines()
    letters = [
        json.loads(value)
        for _, value in read_topic(stack.kafka.bootstrap, dead_letter_topic(run.topic))
    ]
    assert {letter["line"]: letter["kind"] for letter in letters} == {
        line: INVALID_KIND[kind] for line, kind in run.generated.malformed.items()
    }
    for letter in letters:
        assert letter["value"] == lines[letter["line"] - 1]
        assert letter["reason"]


def test_each_attempt_is_one_row_and_each_of_its_questions_one(run: Run, trino: Trino) -> None:
    assessments = f"hive.{run.database}.assessments"
    assert trino(f"SELECT count(*), count(DISTINCT user_exam_id) FROM {assessments}") == [
        [run.generated.records, run.generated.records]
    ]
    assert trino(f"SELECT count(*) FROM hive.{run.database}.assessment_questions") == [
        [run.generated.questions]
    ]


def test_the_rows_hold_the_attempts_fields(run: Run, trino: Trino) -> None:
    def score(correct: int, total: int) -> float:
        return float((Decimal(100 * correct) / total).quantize(Decimal("0.1"), ROUND_HALF_UP))

    expected = sorted(
        [
            a["user_exam_id"],
            a["exam_name"],
            a["user_id"],
            started(a),
            a["certification"] == "true",
            1,
            (counts := a["sequences"]["counts"])["total"],
            counts["correct"],
            score(counts["correct"], counts["total"]),
        ]
        for a in run.attempts()
    )
    assert (
        trino(
            "SELECT user_exam_id, exam_name, user_id, started_at, certification, max_attempts, "
            f"questions, correct, score FROM hive.{run.database}.assessments ORDER BY 1"
        )
        == expected
    )
    questions_expected = sorted(
        [
            a["user_exam_id"],
            position,
            q["id"],
            q["user_result"],
            len(q["options"]),
            sum(o["checked"] for o in q["options"]),
            sum(o["correct"] for o in q["options"]),
        ]
        for a in run.attempts()
        for position, q in enumerate(a["sequences"]["questions"], 1)
    )
    assert (
        trino(
            "SELECT user_exam_id, question_position, question_id, user_result, options, "
            f"options_checked, options_correct FROM hive.{run.database}.assessment_questions "
            "ORDER BY 1, 2"
        )
        == questions_expected
    )


def expected_answers(attempts: list[dict[str, Any]]) -> dict[str, list[list[Any]]]:
    """Each assessment question of the report, answered from the attempts in Python."""
    exams = Counter(a["exam_name"] for a in attempts)
    users_of = {
        exam: len({a["user_id"] for a in attempts if a["exam_name"] == exam}) for exam in exams
    }
    fewest = min(exams.values())
    days = Counter(started(a).date() for a in attempts)
    per_user = Counter(Counter(a["user_id"] for a in attempts).values())
    answers = [q for a in attempts for q in a["sequences"]["questions"]]
    results = Counter(q["user_result"] for q in answers)
    attempts_with = {
        result: sum(
            any(q["user_result"] == result for q in a["sequences"]["questions"]) for a in attempts
        )
        for result in results
    }
    by_count = sorted(exams.items(), key=lambda item: (-item[1], item[0]))
    return {
        "11_assessments": [
            [
                len(attempts),
                len(exams),
                len({a["user_id"] for a in attempts}),
                min(started(a) for a in attempts),
                max(started(a) for a in attempts),
            ]
        ],
        "12_learning_git": [[exams["Learning Git"], users_of["Learning Git"]]],
        "13_most_common_exams": [[exam, n, users_of[exam]] for exam, n in by_count[:10]],
        "14_least_common_exams": sorted([exam, n] for exam, n in exams.items() if n == fewest),
        "15_busiest_start_dates": [
            [day, n] for day, n in sorted(days.items(), key=lambda item: (-item[1], item[0]))[:10]
        ],
        "16_attempts_per_user": sorted([attempts, users] for attempts, users in per_user.items()),
        "17_question_results": [
            [result, n, attempts_with[result]]
            for result, n in sorted(results.items(), key=lambda item: (-item[1], item[0]))
        ],
    }


def test_the_reports_questions_answer_as_the_file_says(run: Run, trino: Trino) -> None:
    expected = expected_answers(run.attempts())
    assert sorted(expected) == ASSESSMENT_QUESTIONS
    assert expected["12_learning_git"][0][0] > 0
    for name in ASSESSMENT_QUESTIONS:
        assert trino(run.sql(name)) == expected[name], name
    assert isinstance(expected["15_busiest_start_dates"][0][0], date)


def test_a_rebuild_gives_the_same_rows_in_a_new_snapshot_and_keeps_the_old_one(
    stack: Settings, run: Run, trino: Trino
) -> None:
    tables = ("assessments", "assessment_questions")

    def rows(table: str, version: str = "") -> list[list[object]]:
        return trino(f"SELECT * FROM hive.{run.database}.{table} {version} ORDER BY 1, 4")

    def snapshots(table: str) -> list[object]:
        sql = f'SELECT snapshot_id FROM iceberg.{run.database}."{table}$snapshots"'
        return [snapshot for (snapshot,) in trino(f"{sql} ORDER BY committed_at")]

    def files(table: str) -> set[str]:
        return {
            str(path)
            for (path,) in trino(f'SELECT DISTINCT "$path" FROM hive.{run.database}.{table}')
        }

    before = {table: (rows(table), snapshots(table), files(table)) for table in tables}

    spark_submit(stack, "assessments", env=run.env)

    for table, (old_rows, old_snapshots, old_files) in before.items():
        assert old_rows and rows(table) == old_rows
        assert snapshots(table)[:-1] == old_snapshots, "one new snapshot"
        assert not files(table) & old_files, "the rebuild wrote new files"
        assert rows(table, f"FOR VERSION AS OF {old_snapshots[-1]}") == old_rows
        assert all(str(run.lake / table / "data") in path for path in files(table))


def test_build_without_the_topic_says_to_load_a_file_first(
    stack: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = unique("assessments")
    monkeypatch.setenv("QUESTLOG__KAFKA__ASSESSMENTS_TOPIC", topic)
    get_settings.cache_clear()
    try:
        assert main(["assessments", "build"]) == 1
    finally:
        get_settings.cache_clear()
    assert (
        f"questlog assessments: Kafka has no topic '{topic}': load a file into it first "
        f"(questlog publish FILE --topic {topic})" in capsys.readouterr().err
    )

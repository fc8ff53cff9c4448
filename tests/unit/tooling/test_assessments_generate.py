"""The assessment attempts generator: the same file from the same seed, the counts it
reports, and records in the original's shape."""

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from questlog.assessments.exams import EXAMS
from questlog.assessments.generate import Generated, generate, summary_path
from questlog.publish import LOADABLE

ATTEMPTS = LOADABLE["assessments"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    return generate(tmp_path_factory.mktemp("attempts") / "attempts.jsonl", records=600, seed=3)


def valid_records(generated: Generated) -> list[dict[str, Any]]:
    lines = generated.path.read_text().splitlines()
    return [json.loads(text) for n, text in enumerate(lines, 1) if n not in generated.malformed]


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_the_same_seed_writes_the_same_file(tmp_path: Path, generated: Generated) -> None:
    again = generate(tmp_path / "again.jsonl", records=600, seed=3)
    other = generate(tmp_path / "other.jsonl", records=600, seed=4)
    assert again.path.read_bytes() == generated.path.read_bytes()
    assert other.path.read_bytes() != generated.path.read_bytes()


def test_the_counts_are_what_the_file_holds(generated: Generated) -> None:
    lines = generated.path.read_text().splitlines()
    assert len(lines) == generated.lines == 600 + 6 + 3
    assert (generated.records, generated.duplicates) == (600, 6)
    records = valid_records(generated)
    assert len(records) == generated.records + generated.duplicates
    assert len({r["user_exam_id"] for r in records}) == generated.records
    copies = Counter(text for n, text in enumerate(lines, 1) if n not in generated.malformed)
    assert sum(n - 1 for n in copies.values()) == generated.duplicates
    unique = {r["user_exam_id"]: r for r in records}.values()
    assert generated.questions == sum(len(r["sequences"]["questions"]) for r in unique)
    assert json.loads(summary_path(generated.path).read_text()) == json.loads(
        json.dumps(generated.summary())
    )


def test_malformed_lines_are_where_the_summary_says(generated: Generated) -> None:
    lines = generated.path.read_text().splitlines()
    assert generated.malformed_by_kind() == {"missing_field": 1, "not_object": 1, "truncated": 1}
    assert 1 not in generated.malformed  # the file starts with a record
    for number, kind in generated.malformed.items():
        text = lines[number - 1]
        if kind == "truncated":
            with pytest.raises(json.JSONDecodeError):
                json.loads(text)
        elif kind == "not_object":
            assert isinstance(json.loads(text), list)
        else:
            assert ATTEMPTS.problem(json.loads(text)) is not None


def test_every_record_passes_the_schema_and_is_consistent(generated: Generated) -> None:
    for record in valid_records(generated):
        assert ATTEMPTS.problem(record) is None
        assert record["certification"] in ("true", "false")
        assert record["max_attempts"] == "1.0"
        started = moment(record["started_at"]).timestamp()
        assert started < float(record["keen_timestamp"]) == float(record["keen_created_at"])
        questions = record["sequences"]["questions"]
        results = Counter(q["user_result"] for q in questions)
        assert record["sequences"]["counts"] == {
            "total": len(questions),
            "correct": results["correct"],
            "incorrect": results["incorrect"],
            "unanswered": results["unanswered"],
            "incomplete": results["missed_some"],
            "submitted": len(questions) - results["unanswered"],
            "all_correct": results["correct"] == len(questions),
        }
        for question in questions:
            checked = {o["id"] for o in question["options"] if o["checked"]}
            right = {o["id"] for o in question["options"] if o["correct"]}
            expected = {
                "correct": checked == right,
                "missed_some": bool(checked) and checked < right,
                "unanswered": not checked,
                "incorrect": bool(checked - right),
            }
            assert expected[question["user_result"]], question
            assert question["submitted"] == len(checked)
            for option in question["options"]:
                assert ("at" in option) == ("submitted" in option) == option["checked"]
                if option["checked"]:
                    assert started < moment(option["at"]).timestamp()


def test_an_exam_is_the_same_in_every_attempt(generated: Generated) -> None:
    shapes: dict[str, set[tuple[str, str, tuple[str, ...]]]] = {}
    for record in valid_records(generated):
        questions = tuple(q["id"] for q in record["sequences"]["questions"])
        shape = (record["base_exam_id"], record["sequences"]["id"], questions)
        shapes.setdefault(record["exam_name"], set()).add(shape)
    assert all(len(found) == 1 for found in shapes.values())


def test_exam_popularity_is_skewed(tmp_path: Path) -> None:
    records = valid_records(generate(tmp_path / "attempts.jsonl"))
    exams = Counter(r["exam_name"] for r in records).most_common()
    assert exams[0][0] == EXAMS[0] == "Learning Git"
    assert exams[0][1] > 1.5 * exams[1][1]
    assert exams[-1][1] <= 3
    attempts_per_user = Counter(r["user_id"] for r in records).values()
    assert min(attempts_per_user) == 1 and max(attempts_per_user) >= 10

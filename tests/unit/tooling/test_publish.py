"""Reading a file for ``questlog publish FILE --topic T``: records, and the reason a line is
not one (no Kafka needed)."""

import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from questlog.assessments.generate import User, attempt, exam
from questlog.cli import main
from questlog.publish import LOADABLE, PublishError, read_file, record_kind

ATTEMPTS = LOADABLE["assessments"]


def an_attempt() -> dict[str, Any]:
    return attempt(random.Random(1), exam("Learning Git"), User("u-1", 0.5), datetime.now(UTC))


def test_json_lines_give_each_line_or_why_it_is_not_a_record(tmp_path: Path) -> None:
    record = an_attempt()
    missing = {k: v for k, v in record.items() if k != "exam_name"}
    lines = [
        json.dumps(record).encode(),
        b"",
        b'{"keen_id": "x", ',
        b"[1, 2]",
        b'{"score": NaN}',
        b"\xff\xfe not text",
        json.dumps(missing).encode(),
    ]
    path = tmp_path / "attempts.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    entries = list(read_file(path))
    assert [e.where for e in entries] == [{"line": n} for n in (1, 3, 4, 5, 6, 7)]
    assert [e.kind for e in entries] == [
        None,
        "not_json",
        "not_object",
        "not_json",
        "not_utf8",
        None,
    ]
    assert entries[0].value == record
    assert entries[2].reason == "a record must be a JSON object, this is a JSON array"
    assert entries[3].reason == "NaN is not JSON"
    assert entries[4].text.endswith(" not text")
    assert ATTEMPTS.problem(entries[0].value) is None
    assert ATTEMPTS.problem(entries[5].value) == "$: 'exam_name' is a required property"


def test_a_json_array_gives_its_elements(tmp_path: Path) -> None:
    record = an_attempt()
    path = tmp_path / "attempts.json"
    path.write_text("\n  " + json.dumps([record, "x", record]))
    entries = read_file(path)
    assert isinstance(entries, list)
    assert [e.where for e in entries] == [{"index": 0}, {"index": 1}, {"index": 2}]
    assert [e.kind for e in entries] == [None, "not_object", None]
    assert entries[2].value == record


def test_a_broken_json_array_is_refused_whole(tmp_path: Path) -> None:
    path = tmp_path / "attempts.json"
    path.write_text(json.dumps([an_attempt()])[:-30])
    with pytest.raises(PublishError, match=r"starts with '\[' but is not one valid JSON array"):
        read_file(path)


def test_schema_problems_name_where_they_are() -> None:
    record = an_attempt()
    record["sequences"]["questions"][1]["options"][0]["checked"] = "yes"
    problem = ATTEMPTS.problem(record)
    assert problem == "$.sequences.questions[1].options[0].checked: 'yes' is not of type 'boolean'"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["publish", "{tmp}/nope.jsonl", "--topic", "assessments"],
            "{tmp}/nope.jsonl: no such file",
        ),
        (["publish", "{tmp}", "--topic", "assessments"], "{tmp} is not a file"),
        (
            ["publish", "{tmp}/nope.jsonl", "--topic", "events"],
            "no schema for topic 'events'; a file can be published to: assessments",
        ),
    ],
)
def test_bad_input_is_refused_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main([arg.format(tmp=tmp_path) for arg in args]) == 1
    assert f"questlog publish: {message.format(tmp=tmp_path)}" in capsys.readouterr().err


def test_only_known_topics_have_a_record_kind() -> None:
    assert record_kind("assessments") is ATTEMPTS
    with pytest.raises(PublishError):
        record_kind("assessments.invalid")

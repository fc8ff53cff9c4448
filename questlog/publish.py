"""``questlog publish FILE --topic T``: a file of JSON records published to a Kafka topic.

The file holds JSON Lines, or one JSON array (the shape of the ed-tech project's export):
a file whose first non-blank character is ``[`` is read as an array. Each record is checked
against the JSON Schema of the topic's records. A valid one is published to ``T``, keyed
by its key field. A line that is not UTF-8 text, not JSON, not a JSON object or fails the
schema is published to ``T.invalid`` with its line number (an array's element: its index)
and the reason, and counted. The producer is idempotent with ``acks=all``; a record counts
once Kafka has acknowledged it. Topics Kafka does not have yet are created.
"""

import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property, partial
from pathlib import Path
from typing import Any

import fastjsonschema
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from questlog_catalog import ASSESSMENTS_TOPIC, dead_letter_topic

from questlog import assessments
from questlog.settings import Settings
from questlog.stack.components import ensure_topics
from questlog.stack.install import Say

INVALID_KINDS = {
    "not_utf8": "not UTF-8 text",
    "not_json": "not JSON",
    "not_object": "not a JSON object",
    "schema": "failing the schema",
}
DELIVERY_TIMEOUT_SECONDS = 60.0


class PublishError(Exception):
    """The file cannot be published, or Kafka did not take it; the message says why."""


@dataclass(frozen=True)
class RecordKind:
    """What a topic's records must be: the JSON Schema they pass, the field they are keyed by."""

    schema_file: Path
    key: str

    @cached_property
    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = json.loads(self.schema_file.read_text())
        return schema

    @cached_property
    def _check(self) -> Any:
        """The schema compiled to plain Python: fast, but its messages are terse."""
        return fastjsonschema.compile(self.schema)

    def problem(self, record: Any) -> str | None:
        """Why ``record`` fails the schema, or None when it passes."""
        try:
            self._check(record)
            return None
        except fastjsonschema.JsonSchemaException as fast:
            error = best_match(Draft202012Validator(self.schema).iter_errors(record))
            return f"{error.json_path}: {error.message}" if error else str(fast)


# The topics a file can be published to, and what their records are.
LOADABLE = {
    ASSESSMENTS_TOPIC: RecordKind(assessments.SCHEMA_FILE, assessments.KEY_FIELD),
}


def record_kind(topic: str) -> RecordKind:
    if topic not in LOADABLE:
        raise PublishError(
            f"no schema for topic {topic!r}; a file can be published to: {', '.join(LOADABLE)}"
        )
    return LOADABLE[topic]


@dataclass(frozen=True)
class Entry:
    """One record of the file: where it is, its text, and its value or why it has none."""

    where: dict[str, int]  # {"line": n} in JSON Lines, {"index": i} in an array
    text: str
    value: Any = None
    kind: str | None = None  # one of INVALID_KINDS when the entry is not a record
    reason: str = ""

    @property
    def position(self) -> str:
        return " ".join(f"{name} {number}" for name, number in self.where.items())


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, list):
        return "array"
    return "string" if isinstance(value, str) else "number"


def _parse(where: dict[str, int], text: str) -> Entry:
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as error:  # json.JSONDecodeError is a ValueError
        return Entry(where, text, kind="not_json", reason=str(error))
    if not isinstance(value, dict):
        reason = f"a record must be a JSON object, this is a JSON {_json_type(value)}"
        return Entry(where, text, kind="not_object", reason=reason)
    return Entry(where, text, value)


def json_lines(path: Path) -> Iterator[Entry]:
    """Each non-blank line of a JSON Lines file, parsed."""
    with path.open("rb") as file:
        for number, raw in enumerate(file, 1):
            if not raw.strip():
                continue
            where = {"line": number}
            try:
                text = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as error:
                lossy = raw.decode("utf-8", "replace").rstrip("\r\n")
                yield Entry(where, lossy, kind="not_utf8", reason=str(error))
                continue
            yield _parse(where, text)


def json_array(path: Path) -> list[Entry]:
    """Each element of a file holding one JSON array. The whole file is read first: a
    syntax error anywhere leaves no element to trust, so nothing is loaded."""
    try:
        elements = json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as error:
        raise PublishError(
            f"{path} starts with '[' but is not one valid JSON array: {error}"
        ) from None
    if not isinstance(elements, list):
        raise PublishError(f"{path} starts with '[' but holds more than one JSON array")
    return [_parse({"index": i}, json.dumps(element)) for i, element in enumerate(elements)]


def read_file(path: Path) -> Iterable[Entry]:
    """The file's records: an array's elements, or else its lines."""
    if not path.is_file():
        raise PublishError(
            f"{path}: no such file" if not path.exists() else f"{path} is not a file"
        )
    with path.open("rb") as file:
        while (chunk := file.read(1 << 16)) and not chunk.strip():
            pass
    return json_array(path) if chunk.lstrip().startswith(b"[") else json_lines(path)


@dataclass
class LoadSummary:
    topic: str
    read: int = 0
    published: int = 0  # acknowledged by Kafka
    invalid: Counter[str] = field(default_factory=Counter)  # kind -> acknowledged dead letters
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.read / self.seconds if self.seconds else 0.0

    def progress(self) -> str:
        return (
            f"  {self.read:,} records read: {self.published:,} published, "
            f"{sum(self.invalid.values()):,} invalid ({self.rate:,.0f} records/s)"
        )

    def report(self, path: Path) -> list[str]:
        lines = [
            f"Loaded {path} in {self.seconds:.1f} s ({self.rate:,.0f} records/s): "
            f"{self.read:,} records read",
            f"  published  {self.published:>7,}  to {self.topic} (acknowledged by Kafka)",
            f"  invalid    {sum(self.invalid.values()):>7,}  to {dead_letter_topic(self.topic)}",
        ]
        lines += [f"    {INVALID_KINDS[k]:<20} {n:>5,}" for k, n in sorted(self.invalid.items())]
        return lines


class FilePublisher:
    """One idempotent producer that counts what Kafka acknowledged, by topic and kind."""

    def __init__(self, bootstrap: str, topic: str, summary: LoadSummary) -> None:
        self.topic = topic
        self.summary = summary
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "enable.idempotence": True,
                "acks": "all",
                "compression.type": "lz4",
                "linger.ms": 20,
                "message.timeout.ms": int(DELIVERY_TIMEOUT_SECONDS * 1000),
                "log_level": 3,
            }
        )

    def _delivered(self, kind: str | None, error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            self.summary.failures.append(str(error))
        elif kind is None:
            self.summary.published += 1
        else:
            self.summary.invalid[kind] += 1

    def send(self, entry: Entry, key_field: str) -> None:
        """A record to the topic, anything else as a dead letter to its ``.invalid`` topic."""
        key = entry.value.get(key_field) if isinstance(entry.value, dict) else None
        if entry.kind is None:
            topic, value = self.topic, entry.text
        else:
            topic = dead_letter_topic(self.topic)
            letter = {**entry.where, "kind": entry.kind, "reason": entry.reason}
            value = json.dumps({**letter, "value": entry.text})
        while True:
            try:
                self.producer.produce(
                    topic,
                    value=value.encode(),
                    key=key if isinstance(key, str) else None,
                    on_delivery=partial(self._delivered, entry.kind),
                )
                break
            except BufferError:  # the producer's queue is full: let deliveries drain it
                self.producer.poll(0.5)
            except KafkaException as error:
                raise PublishError(f"{entry.position}: Kafka refused the record: {error}") from None
        self.producer.poll(0)

    def finish(self) -> int:
        """Wait for every delivery report; how many records were never acknowledged."""
        try:
            unsent: int = self.producer.flush(DELIVERY_TIMEOUT_SECONDS)
            return unsent
        finally:
            self.producer.close()


def publish_file(
    settings: Settings,
    path: Path,
    topic: str,
    kind: RecordKind,
    say: Say,
    progress_every: int = 1000,
) -> LoadSummary:
    """Publish the file's records to ``topic``, the others to its ``.invalid`` topic."""
    entries = read_file(path)
    created, _ = ensure_topics(settings.kafka.bootstrap, [topic, dead_letter_topic(topic)])
    for name in created:
        say(f"Created the Kafka topic {name}.")
    say(f"Loading {path} into the Kafka topic {topic} at {settings.kafka.bootstrap} ...")
    summary = LoadSummary(topic)
    publisher = FilePublisher(settings.kafka.bootstrap, topic, summary)
    started = time.monotonic()
    for entry in entries:
        if entry.kind is None and (problem := kind.problem(entry.value)):
            entry = replace(entry, kind="schema", reason=problem)
        publisher.send(entry, kind.key)
        summary.read += 1
        if summary.read % progress_every == 0:
            summary.seconds = time.monotonic() - started
            say(summary.progress())
    unsent = publisher.finish()
    summary.seconds = time.monotonic() - started
    if unsent or summary.failures:
        raise PublishError(
            f"Kafka at {settings.kafka.bootstrap} did not acknowledge "
            f"{unsent + len(summary.failures)} of {summary.read} records: "
            f"{summary.failures[0] if summary.failures else 'delivery timed out'}"
        )
    for line in summary.report(path):
        say(line)
    return summary

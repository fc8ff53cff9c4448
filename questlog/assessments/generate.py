"""``questlog assessments generate FILE``: a realistic JSON Lines file of nested assessment
attempts, in the shape of the ed-tech course project's ``assessment-attempts-*-nested.json``.

The same seed writes the same file. Besides its unique attempts, the file holds what real
exports hold: attempts re-sent as exact duplicates (about 1 %) and a few malformed lines
(truncated JSON, a JSON value that is not an object, an attempt missing a required field).
What it wrote is returned and kept next to the file (``FILE.summary.json``), so a test
knows what the pipeline must make of it.

Each exam has a fixed id, sequence of questions and options, derived from its title. Exam
popularity falls off steeply with its place in ``EXAMS``. The original names no user;
``user_id`` is questlog's addition, so that attempts per user can be counted.
"""

import json
import random
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from questlog.assessments import KEY_FIELD
from questlog.assessments.exams import EXAMS

DEFAULT_RECORDS = 3280  # as many as the original file
DEFAULT_SEED = 20180128
DUPLICATE_SHARE = 0.01
# Malformed lines per unique attempt; at least one of each kind.
MALFORMED_SHARE = 0.002
MALFORMED_KINDS = ("truncated", "not_object", "missing_field")
# Taken out of the attempts written as "missing_field", in turn.
DROPPED_FIELDS = (KEY_FIELD, "exam_name", "started_at", "sequences")
# Exam k (0-based) is taken with weight 1 / (k + 2) ** 1.3: the first about 19 % of the
# time, the last few about once in 3,000 attempts.
POPULARITY_EXPONENT = 1.3
# Attempts start in the eight weeks before the original export; two course launches draw
# more than the other days, weekends less.
FIRST_DAY = date(2017, 12, 1)
DAYS = 58
BUSY_DAYS = {date(2018, 1, 8): 3.0, date(2018, 1, 22): 2.5}
WEEKEND_WEIGHT = 0.6
# A user's activity is Pareto-distributed: most take one to four exams, a few many more.
ATTEMPTS_PER_USER = 3
USER_ACTIVITY_SHAPE = 3.0


@dataclass(frozen=True)
class Question:
    id: str
    options: tuple[tuple[str, bool], ...]  # (option id, whether it is a correct answer)


@dataclass(frozen=True)
class Exam:
    name: str
    base_exam_id: str
    sequence_id: str
    certification: bool
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class User:
    id: str
    skill: float  # chance of answering a question right


@dataclass(frozen=True)
class Generated:
    path: Path
    seed: int
    records: int  # unique attempts
    duplicates: int  # extra, exact copies of attempts (re-sent)
    questions: int  # questions in the unique attempts
    malformed: dict[int, str]  # line number -> kind (one of MALFORMED_KINDS)

    @property
    def lines(self) -> int:
        return self.records + self.duplicates + len(self.malformed)

    def malformed_by_kind(self) -> dict[str, int]:
        return dict(sorted(Counter(self.malformed.values()).items()))

    @property
    def summary_path(self) -> Path:
        return summary_path(self.path)

    def summary(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "seed": self.seed,
            "lines": self.lines,
            "records": self.records,
            "duplicates": self.duplicates,
            "questions": self.questions,
            "malformed_by_kind": self.malformed_by_kind(),
            "malformed": [{"line": n, "kind": kind} for n, kind in sorted(self.malformed.items())],
        }

    def describe(self) -> str:
        kinds = ", ".join(f"{n} {kind}" for kind, n in self.malformed_by_kind().items())
        return (
            f"Wrote {self.lines:,} lines to {self.path} (seed {self.seed}): {self.records:,} "
            f"attempts with {self.questions:,} questions, {self.duplicates:,} re-sent "
            f"duplicates, {len(self.malformed):,} malformed lines ({kinds}); counts in "
            f"{self.summary_path}"
        )


def summary_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.summary.json")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@cache
def exam(name: str) -> Exam:
    """The exam titled ``name``: the same ids, questions and options in every file."""
    rng = random.Random(f"exam:{name}")
    questions = []
    for _ in range(rng.randint(3, 7)):
        options = rng.randint(3, 5)
        right = set(rng.sample(range(options), rng.choice((1, 1, 2))))
        questions.append(
            Question(_uuid(rng), tuple((_uuid(rng), i in right) for i in range(options)))
        )
    return Exam(name, _uuid(rng), _uuid(rng), rng.random() < 0.1, tuple(questions))


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _epoch(moment: datetime) -> str:
    """Seconds since the epoch as Keen.io wrote them: a string with microseconds."""
    micros = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _answer(rng: random.Random, question: Question, skill: float) -> str:
    """How the user did: correct, incorrect, missed_some (a right option left unchecked,
    no wrong one checked) or unanswered."""
    if rng.random() < 0.04:
        return "unanswered"
    if rng.random() < skill:
        return "correct"
    several_right = sum(correct for _, correct in question.options) > 1
    return "missed_some" if several_right and rng.random() < 0.5 else "incorrect"


def _checked(rng: random.Random, question: Question, result: str) -> set[str]:
    right = [option for option, correct in question.options if correct]
    wrong = [option for option, correct in question.options if not correct]
    if result == "correct":
        return set(right)
    if result == "missed_some":
        return set(rng.sample(right, rng.randint(1, len(right) - 1)))
    if result == "incorrect":
        return set(rng.sample(right, rng.randint(0, len(right)))) | {rng.choice(wrong)}
    return set()


def attempt(rng: random.Random, exam: Exam, user: User, started: datetime) -> dict[str, Any]:
    """One attempt at ``exam``, as the original's records are laid out."""
    moment = started
    questions = []
    for question in exam.questions:
        result = _answer(rng, question, user.skill)
        checked = _checked(rng, question, result)
        options = []
        for option, correct in question.options:
            entry: dict[str, Any] = {"id": option, "checked": option in checked, "correct": correct}
            if option in checked:
                moment += timedelta(milliseconds=rng.randint(2_000, 60_000))
                entry |= {"at": _iso(moment), "submitted": 1}
            options.append(entry)
        rng.shuffle(options)
        questions.append(
            {
                "id": question.id,
                "user_incomplete": result == "missed_some",
                "user_correct": result == "correct",
                "user_submitted": bool(checked),
                "user_result": result,
                "submitted": len(checked),
                "options": options,
            }
        )
    results = Counter(q["user_result"] for q in questions)
    finished = moment + timedelta(microseconds=rng.randint(1_000_000, 30_000_000))
    return {
        "keen_id": f"{int(finished.timestamp()):08x}{rng.getrandbits(64):016x}",
        "keen_timestamp": _epoch(finished),
        "keen_created_at": _epoch(finished),
        "base_exam_id": exam.base_exam_id,
        "exam_name": exam.name,
        KEY_FIELD: _uuid(rng),
        "user_id": user.id,
        "started_at": _iso(started),
        "certification": "true" if exam.certification else "false",
        "max_attempts": "1.0",
        "sequences": {
            "id": exam.sequence_id,
            "attempt": 1,
            "questions": questions,
            "counts": {
                "total": len(questions),
                "correct": results["correct"],
                "incorrect": results["incorrect"],
                "unanswered": results["unanswered"],
                "incomplete": results["missed_some"],
                "submitted": len(questions) - results["unanswered"],
                "all_correct": results["correct"] == len(questions),
            },
        },
    }


class AttemptMaker:
    """Attempts by a population of users, at exams and days chosen by their popularity."""

    def __init__(self, rng: random.Random, records: int) -> None:
        self.rng = rng
        self.users = [
            User(f"{rng.getrandbits(96):024x}", rng.uniform(0.35, 0.95))
            for _ in range(max(1, records // ATTEMPTS_PER_USER))
        ]
        self.activity = [rng.paretovariate(USER_ACTIVITY_SHAPE) for _ in self.users]
        self.exam_weights = [1 / (k + 2) ** POPULARITY_EXPONENT for k in range(len(EXAMS))]
        self.days = [FIRST_DAY + timedelta(days=d) for d in range(DAYS)]
        self.day_weights = [
            BUSY_DAYS.get(day, WEEKEND_WEIGHT if day.weekday() >= 5 else 1.0) for day in self.days
        ]

    def __call__(self) -> dict[str, Any]:
        rng = self.rng
        (user,) = rng.choices(self.users, weights=self.activity)
        (name,) = rng.choices(EXAMS, weights=self.exam_weights)
        (day,) = rng.choices(self.days, weights=self.day_weights)
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        started = midnight + timedelta(milliseconds=rng.randrange(86_400_000))
        return attempt(rng, exam(name), user, started)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _malformed(rng: random.Random, kind: str, fresh: dict[str, Any], turn: int) -> str:
    """The ``turn``-th line of ``kind``, made from an attempt not among the file's records."""
    if kind == "truncated":
        text = _dumps(fresh)
        return text[: rng.randint(len(text) // 4, 3 * len(text) // 4)]
    if kind == "not_object":
        return _dumps([fresh["keen_id"], fresh[KEY_FIELD], fresh["exam_name"]])
    dropped = DROPPED_FIELDS[turn % len(DROPPED_FIELDS)]
    return _dumps({k: v for k, v in fresh.items() if k != dropped})


def generate(path: Path, records: int = DEFAULT_RECORDS, seed: int = DEFAULT_SEED) -> Generated:
    """Write the file and its summary; what was written."""
    if records < 1:
        raise ValueError(f"records must be at least 1, not {records}")
    rng = random.Random(seed)
    make = AttemptMaker(rng, records)
    attempts = [make() for _ in range(records)]
    # Lines are ordered by a key: attempt i has key i, its re-sent copy a larger one, and
    # malformed lines any key after the first attempt's (so the file starts with a record).
    lines = [(float(i), _dumps(a)) for i, a in enumerate(attempts)]
    resent = rng.sample(range(records), round(records * DUPLICATE_SHARE))
    lines += [(i + 0.5 + rng.random() * (records - i), lines[i][1]) for i in resent]
    kinds = [
        MALFORMED_KINDS[n % len(MALFORMED_KINDS)]
        for n in range(max(len(MALFORMED_KINDS), round(records * MALFORMED_SHARE)))
    ]
    bad = [
        (rng.uniform(0.5, records), _malformed(rng, kind, make(), n // len(MALFORMED_KINDS)))
        for n, kind in enumerate(kinds)
    ]
    ordered = sorted([*lines, *bad], key=lambda entry: entry[0])
    bad_lines = {text: kind for (_, text), kind in zip(bad, kinds, strict=True)}
    malformed = {n: bad_lines[text] for n, (_, text) in enumerate(ordered, 1) if text in bad_lines}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{text}\n" for _, text in ordered))
    generated = Generated(
        path=path,
        seed=seed,
        records=records,
        duplicates=len(resent),
        questions=sum(len(a["sequences"]["questions"]) for a in attempts),
        malformed=malformed,
    )
    summary_path(path).write_text(json.dumps(generated.summary(), indent=2) + "\n")
    return generated

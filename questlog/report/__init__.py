"""The analytics report: the business questions of the game, as SQL files run on Trino.

Each ``sql/NN_name.sql`` is one question; its first line (``-- …``) is its title. Anyone
can rerun one as is, e.g. ``trino --execute "$(cat questlog/report/sql/02_players_per_guild.sql)"``.
``run`` prints the Iceberg snapshot of each table the questions ask, every answer as a table,
and draws the key figures into one chart image.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from trino.dbapi import connect as trino_connect

from questlog.settings import Settings
from questlog.stack.install import Say
from questlog.stack.probes import TRINO_SERVICE_USER, trino_failure, trino_query

SQL_DIR = Path(__file__).parent / "sql"
TABLE_NAME = re.compile(r"hive\.default\.(\w+)")
# The questions drawn in the chart: (file stem, panel title, label column, value column).
CHARTED = (
    ("02_players_per_guild", "Players per guild", "guild", "players"),
    ("03_swords_per_type", "Sword revenue (gold) per type", "sword_type", "revenue"),
    ("05_ships", "Pilots per ship", "ship", "pilots"),
    ("01_events_per_table", "Events per table", "table", "events"),
)


@dataclass(frozen=True)
class Answer:
    name: str
    title: str
    columns: list[str]
    rows: list[list[object]]

    def column(self, name: str) -> list[object]:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]


def questions() -> dict[str, tuple[str, str]]:
    """Each question's file stem -> (title, SQL), in file order."""
    found = {}
    for path in sorted(SQL_DIR.glob("*.sql")):
        sql = path.read_text()
        first_line = sql.splitlines()[0]
        if not first_line.startswith("-- "):
            raise ValueError(f"{path} must start with a '-- title' line")
        found[path.stem] = (first_line.removeprefix("-- "), sql)
    return found


def asked_tables() -> list[str]:
    """The lake's tables the questions ask (each names them ``hive.default.<table>``)."""
    return sorted({t for _, sql in questions().values() for t in re.findall(TABLE_NAME, sql)})


def current_snapshots(settings: Settings) -> dict[str, tuple[int, object] | None]:
    """Each asked table's current snapshot (id, commit time); None for one not yet written."""
    found: dict[str, tuple[int, object] | None] = {}
    for table in asked_tables():
        rows = trino_query(
            settings.host,
            settings.trino.port,
            f'SELECT snapshot_id, committed_at FROM iceberg.default."{table}$snapshots" '
            "ORDER BY committed_at DESC LIMIT 1",
            timeout=60,
        )
        found[table] = (int(str(rows[0][0])), rows[0][1]) if rows else None
    return found


def ask(settings: Settings) -> list[Answer]:
    """Every question's answer from the stack's Trino."""
    connection = trino_connect(  # type: ignore[no-untyped-call]  # trino ships no hints here
        host=settings.host, port=settings.trino.port, user=TRINO_SERVICE_USER, request_timeout=60
    )
    answers = []
    try:
        for name, (title, sql) in questions().items():
            cursor = connection.cursor()
            try:
                cursor.execute(sql)
                rows = cursor.fetchall()
            except Exception as error:
                where = f"Trino at {settings.trino.url} could not answer {name}.sql"
                raise trino_failure(where, error) from error
            columns = [column[0] for column in cursor.description]
            answers.append(Answer(name, title, columns, rows))
    finally:
        connection.close()
    return answers


def format_table(answer: Answer) -> list[str]:
    """The answer as aligned text: numbers to the right, text to the left."""
    cells = [answer.columns, *[["" if v is None else str(v) for v in row] for row in answer.rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(answer.columns))]
    numeric = [
        bool(answer.rows) and all(isinstance(row[i], int | float) for row in answer.rows)
        for i in range(len(answer.columns))
    ]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, numeric, strict=True)
        ).rstrip()

    lines = [line(answer.columns), "  ".join("-" * w for w in widths)]
    lines += [line(row) for row in cells[1:]] or ["(no rows)"]
    return lines


def draw_chart(answers: list[Answer], path: Path) -> None:
    """The charted questions as horizontal bar charts, one panel each, in one PNG."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    from matplotlib import pyplot

    by_name = {answer.name: answer for answer in answers}
    figure, axes = pyplot.subplots(2, 2, figsize=(14, 9))
    for ax, (name, title, label, value) in zip(axes.flat, CHARTED, strict=True):
        answer = by_name[name]
        labels = [str(v) for v in answer.column(label)][::-1]
        values = [float(v or 0) for v in answer.column(value)][::-1]  # type: ignore[arg-type]
        ax.barh(labels, values, color="#3b6ea5")
        ax.set_title(title)
        ax.set_xlabel(value)
    figure.suptitle("questlog: key figures")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def run(settings: Settings, say: Say) -> list[Answer]:
    """Print every answer and write the chart to ``settings.report_dir``."""
    say(f"\nAnalytics report from Trino ({settings.trino.url}), SQL in {SQL_DIR}:")
    say("Tables as of these snapshots (`FOR VERSION AS OF <id>` after a name reads it so again):")
    for table, snapshot in current_snapshots(settings).items():
        shown = f"snapshot {snapshot[0]}, committed {snapshot[1]}" if snapshot else "empty"
        say(f"  {table}: {shown}")
    answers = ask(settings)
    for answer in answers:
        say(f"\n{answer.title}  [{answer.name}.sql]")
        for line in format_table(answer):
            say(f"  {line}")
    chart = settings.report_dir / "key-figures.png"
    draw_chart(answers, chart)
    say(f"\nChart of the key figures: {chart}")
    return answers

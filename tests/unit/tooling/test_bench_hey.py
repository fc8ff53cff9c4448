import math
from pathlib import Path

import pytest

from bench.hey import command, parse

# Trimmed from a real report of `hey -z 3s -c 16 http://127.0.0.1:8000/purchase_a_sword`.
REPORT = """
Summary:
  Total:\t3.0092 secs
  Requests/sec:\t866.3423

Latency distribution:
  10% in 0.0116 secs
  95% in 0.0302 secs
  99% in 0.0411 secs

Status code distribution:
  [200]\t2600 responses
  [503]\t7 responses
"""


def test_report_is_read() -> None:
    result = parse(REPORT)
    assert result.requests_per_second == 866.3423
    assert result.p99_seconds == 0.0411
    assert result.statuses == {200: 2600, 503: 7}
    assert result.rate_of(200) == pytest.approx(866.3423 * 2600 / 2607)
    assert result.rate_of(202) == 0


def test_a_report_without_a_99th_percentile_has_a_nan_p99() -> None:
    """hey's report of a load of few, slow responses (a flood answered after the refusal
    delay): its 99th percentile line reads "0% in 0.0000 secs"."""
    report = REPORT.replace("99% in 0.0411 secs", "0% in 0.0000 secs")
    assert math.isnan(parse(report).p99_seconds)
    assert parse(report).requests_per_second == 866.3423


def test_something_else_is_refused() -> None:
    with pytest.raises(ValueError, match="not a hey report"):
        parse("Error: connection refused")


def test_command_caps_each_connections_rate_only_when_asked() -> None:
    body = Path("single.json")
    line = command(Path("hey"), "http://127.0.0.1:1/v1/events", 5, 4, body, {"X-A": "1"}, 25)
    assert line[:7] == ["hey", "-z", "5s", "-c", "4", "-q", "25"]
    assert line[7:9] == ["-H", "X-A: 1"] and line[-1] == "http://127.0.0.1:1/v1/events"
    assert "-q" not in command(Path("hey"), "http://127.0.0.1:1/", 5, 4)

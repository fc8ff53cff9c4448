import argparse
from collections.abc import Callable

import pytest
from questlog_spark import compact
from questlog_spark.compact_options import add_options

from questlog import cli
from questlog.cli import main
from questlog.settings import get_settings


def test_the_cli_reports_invalid_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QUESTLOG__METASTORE__PORT", "not-a-port")
    get_settings.cache_clear()  # the CLI reads settings through this cache
    try:
        assert main(["status"]) == 2
    finally:
        get_settings.cache_clear()
    refused = capsys.readouterr().err
    assert "invalid settings: QUESTLOG__METASTORE__PORT: Input should be" in refused


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_keys_help_shows_the_keys_actions(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["keys", flag])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith("usage: questlog keys")
    assert all(action in shown for action in ("create", "list", "revoke"))


def test_keys_without_an_action_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["keys"])
    assert exited.value.code == 2
    refused = capsys.readouterr().err
    assert "usage: questlog keys" in refused and "{create,list,revoke}" in refused


def never_submitted(*args: object, **kwargs: object) -> None:
    raise AssertionError(f"Spark was started: {args[1:]}")


def test_compact_refuses_an_orphan_age_below_the_floor_before_spark(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "spark_submit", never_submitted)
    with pytest.raises(SystemExit) as exited:
        main(["compact", "--orphan-hours", "1"])
    assert exited.value.code == 2
    refused = capsys.readouterr().err
    assert "--orphan-hours" in refused and "24 h" in refused and "commit in flight" in refused


def options_shown(command: Callable[[], object], capsys: pytest.CaptureFixture[str]) -> str:
    """The options part of the help ``command`` prints."""
    with pytest.raises(SystemExit):
        command()
    return capsys.readouterr().out.split("\noptions:\n")[1]


def test_compact_offers_exactly_the_jobs_options_and_defaults(
    capsys: pytest.CaptureFixture[str],
) -> None:
    job = options_shown(lambda: compact.main(["--help"]), capsys)
    assert "--orphan-hours" in job
    assert options_shown(lambda: main(["compact", "--help"]), capsys) == job


def test_compact_hands_the_job_what_it_was_given(monkeypatch: pytest.MonkeyPatch) -> None:
    submitted: list[tuple[str, ...]] = []
    monkeypatch.setattr(cli, "spark_submit", lambda _, *command: submitted.append(command))
    given = ["--date=2026-01-02", "--retain-last", "3"]
    assert main(["compact", *given]) == 0
    [(app, *arguments)] = submitted
    job = add_options(argparse.ArgumentParser())
    assert app == "compact" and job.parse_args(arguments) == job.parse_args(given)

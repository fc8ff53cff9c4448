import pytest
from questlog_settings import get_settings

from questlog.cli import main


def test_the_cli_reports_invalid_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QUESTLOG_METASTORE_PORT", "not-a-port")
    get_settings.cache_clear()  # the CLI reads settings through this cache
    try:
        assert main(["status"]) == 2
    finally:
        get_settings.cache_clear()
    assert "invalid settings" in capsys.readouterr().err


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

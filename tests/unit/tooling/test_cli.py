import pytest

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
    assert "invalid settings" in capsys.readouterr().err

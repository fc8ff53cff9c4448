import pytest
from pydantic import ValidationError

from questlog.cli import main
from questlog.settings import StackSettings, get_settings


def test_defaults_are_the_contract_ports() -> None:
    settings = StackSettings()
    assert settings.kafka_bootstrap == "127.0.0.1:9092"
    assert settings.metastore_uri == "thrift://127.0.0.1:9083"
    assert settings.trino_url == "http://127.0.0.1:8080"


def test_two_components_cannot_share_a_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUESTLOG_TRINO_PORT", "9092")
    with pytest.raises(
        ValidationError, match="QUESTLOG_TRINO_PORT and QUESTLOG_KAFKA_PORT are both 9092"
    ):
        StackSettings()


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


def test_addresses_follow_the_host_unless_set() -> None:
    settings = StackSettings(host="10.0.0.5", api_port=18000)
    assert settings.api_url == "http://10.0.0.5:18000"
    assert settings.kafka_bootstrap == "10.0.0.5:9092"
    container = StackSettings(host="0.0.0.0", kafka_bootstrap="kafka:9092")
    assert container.kafka_bootstrap == "kafka:9092"
    assert container.metastore_uri == "thrift://0.0.0.0:9083"


def test_a_lake_on_s3_needs_its_endpoint() -> None:
    with pytest.raises(ValidationError, match="set QUESTLOG_S3_ENDPOINT too"):
        StackSettings(lake_root="s3a://lake/warehouse")

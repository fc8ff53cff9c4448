"""The one settings model: nested by component, read from QUESTLOG_* variables."""

import subprocess
import sys

import pytest
from pydantic import ValidationError
from questlog_settings import Settings, environment, variables


def test_defaults_are_the_contract_ports() -> None:
    settings = Settings()
    assert settings.kafka.bootstrap == "127.0.0.1:9092"
    assert settings.metastore.uri == "thrift://127.0.0.1:9083"
    assert settings.trino.url == "http://127.0.0.1:8080"


def test_two_components_cannot_share_a_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUESTLOG_TRINO_PORT", "9092")
    with pytest.raises(
        ValidationError, match="QUESTLOG_TRINO_PORT and QUESTLOG_KAFKA_PORT are both 9092"
    ):
        Settings()


def test_addresses_follow_the_host_unless_set() -> None:
    settings = Settings(host="10.0.0.5", api={"port": 18000})
    assert settings.api.url == "http://10.0.0.5:18000"
    assert settings.kafka.bootstrap == "10.0.0.5:9092"
    container = Settings(host="0.0.0.0", kafka={"bootstrap": "kafka:9092"})
    assert container.kafka.bootstrap == "kafka:9092"
    assert container.metastore.uri == "thrift://0.0.0.0:9083"


def test_a_lake_on_s3_needs_its_endpoint() -> None:
    with pytest.raises(ValidationError, match="set QUESTLOG_S3_ENDPOINT too"):
        Settings(lake={"root": "s3a://lake/warehouse"})


def test_a_sections_variable_sets_its_setting_and_the_rest_stay_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUESTLOG_KAFKA_BOOTSTRAP", "kafka:9092")
    monkeypatch.setenv("QUESTLOG_API_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("QUESTLOG_API_TRUSTED_PROXIES", '["10.0.0.0/8"]')
    monkeypatch.setenv("QUESTLOG_STATE_DIR", "/srv/questlog")
    monkeypatch.setenv("QUESTLOG_PERSONAL_DATA_KEY", "secret")
    settings = Settings()
    assert settings.kafka.bootstrap == "kafka:9092"
    assert settings.api.max_body_bytes == 2048
    assert [str(network) for network in settings.api.trusted_proxies] == ["10.0.0.0/8"]
    assert settings.personal_data_key.get_secret_value() == "secret"
    # What follows the state folder follows it.
    assert settings.lake.root == "file:///srv/questlog/lake"
    assert settings.registry.database_url == "sqlite:////srv/questlog/data/registry/registry.db"


def test_another_process_reads_the_settings_it_is_given(tmp_path: pytest.TempPathFactory) -> None:
    """What the local stack relies on: a process started with ``environment(settings)``
    reads those settings, whatever its own environment defaulted to."""
    given = Settings(
        state_dir=tmp_path,
        kafka={"port": 19092, "events_topic": "other"},
        api={"trusted_proxies": ["192.0.2.0/24"], "require_write_key": False},
        stream={"trigger_seconds": 2.5},
    )
    read = subprocess.run(
        [
            sys.executable,
            "-c",
            "from questlog_settings import Settings; "
            "print(Settings().model_dump_json(exclude={'personal_data_key'}))",
        ],
        env=environment(given),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert Settings.model_validate_json(read) == given
    unset = {"QUESTLOG_PERSONAL_DATA_KEY", "QUESTLOG_LOAD_SECONDS"}
    assert set(environment(given)) | unset == variables()

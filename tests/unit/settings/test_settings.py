"""Settings: each deployable's model of the sections it reads, the tooling's of the whole
local stack, from QUESTLOG__<SECTION>__<NAME> variables (and for one release the names of
the release before, but never a Service's link variables)."""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from pydantic import ValidationError
from questlog_catalog import EVENTS_DIR
from questlog_settings import (
    ApiSettings,
    LoadSettings,
    RegistrySettings,
    SettingsError,
    SparkSettings,
    environment,
    narrow,
    read,
    variables,
)
from questlog_settings.base import warn_once

from questlog.settings import REPO_ROOT, Settings

# What Kubernetes gives every pod of a namespace holding questlog's Services, with service
# links on (the default): each Service's address and port, in variables of its name.
SERVICE_LINKS = {
    f"QUESTLOG_{service}_{suffix}": value
    for service, port in {"API": 8000, "KAFKA": 9092, "TRINO": 8080, "REGISTRY": 8003}.items()
    for suffix, value in {
        "SERVICE_HOST": "10.96.0.12",
        "SERVICE_PORT": str(port),
        "PORT": f"tcp://10.96.0.12:{port}",
        f"PORT_{port}_TCP": f"tcp://10.96.0.12:{port}",
        f"PORT_{port}_TCP_PORT": str(port),
    }.items()
}


@pytest.fixture(autouse=True)
def no_settings_of_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees only the variables it sets, and each old name's first warning."""
    for name in [name for name in os.environ if name.startswith("QUESTLOG")]:
        monkeypatch.delenv(name)
    warn_once.cache_clear()


def test_the_local_stacks_defaults_are_the_contract_ports() -> None:
    settings = Settings()
    assert settings.kafka.bootstrap == "127.0.0.1:9092"
    assert settings.metastore.uri == "thrift://127.0.0.1:9083"
    assert settings.trino.url == "http://127.0.0.1:8080"
    assert settings.state_dir == REPO_ROOT / ".stack"


def test_only_the_local_stack_checks_that_its_components_have_ports_of_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUESTLOG__TRINO__PORT", "9092")
    settings = Settings()  # read as it is: the check is the stack's, when it starts
    with pytest.raises(
        SettingsError, match="QUESTLOG__TRINO__PORT and QUESTLOG__KAFKA__PORT are both 9092"
    ):
        settings.check_ports()


def test_addresses_follow_the_host_unless_set() -> None:
    settings = Settings(host="10.0.0.5", api={"port": 18000})
    assert settings.api.url == "http://10.0.0.5:18000"
    assert settings.kafka.bootstrap == "10.0.0.5:9092"
    container = Settings(host="0.0.0.0", kafka={"bootstrap": "kafka:9092"})
    assert container.kafka.bootstrap == "kafka:9092"
    assert container.metastore.uri == "thrift://0.0.0.0:9083"


def test_a_lake_on_s3_needs_its_endpoint() -> None:
    with pytest.raises(ValidationError, match="set QUESTLOG__S3__ENDPOINT too"):
        Settings(lake={"root": "s3a://lake/warehouse"})


def test_a_sections_variable_sets_its_setting_and_the_rest_stay_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUESTLOG__KAFKA__BOOTSTRAP", "kafka:9092")
    monkeypatch.setenv("QUESTLOG__API__MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("QUESTLOG__API__TRUSTED_PROXIES", '["10.0.0.0/8"]')
    monkeypatch.setenv("QUESTLOG__STATE_DIR", "/srv/questlog")
    monkeypatch.setenv("QUESTLOG__PERSONAL_DATA_KEY", "secret")
    settings = Settings()
    assert settings.kafka.bootstrap == "kafka:9092"
    assert settings.api.max_body_bytes == 2048
    assert [str(network) for network in settings.api.trusted_proxies] == ["10.0.0.0/8"]
    assert settings.personal_data_key.get_secret_value() == "secret"
    # What follows the state folder follows it.
    assert settings.lake.root == "file:///srv/questlog/lake"
    assert settings.registry.database_url == "sqlite:////srv/questlog/data/registry/registry.db"
    api = ApiSettings()
    assert (api.kafka.bootstrap, api.api.max_body_bytes) == ("kafka:9092", 2048)


def test_a_pod_reads_its_settings_beside_every_services_link_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in SERVICE_LINKS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("QUESTLOG__KAFKA__BOOTSTRAP", "questlog-kafka:9092")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not one of them is taken for an old name
        api = read(ApiSettings)
        stack = read(Settings)  # the images of Kafka, Trino and the metastore
    assert api.kafka.bootstrap == "questlog-kafka:9092"
    assert (stack.api.port, stack.kafka.port, stack.trino.port) == (8000, 9092, 8080)


def test_the_old_names_are_read_below_the_new_ones_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUESTLOG_API_MAX_BATCH_EVENTS", "7")
    monkeypatch.setenv("QUESTLOG_KAFKA_BOOTSTRAP", "old:9092")
    monkeypatch.setenv("QUESTLOG__KAFKA__BOOTSTRAP", "new:9092")
    monkeypatch.setenv("QUESTLOG_STATE_DIR", "/srv/old")
    with pytest.warns(FutureWarning, match="QUESTLOG_API_MAX_BATCH_EVENTS is read as") as seen:
        settings = Settings()
    assert (settings.api.max_batch_events, settings.kafka.bootstrap) == (7, "new:9092")
    assert settings.state_dir == Path("/srv/old")
    assert "QUESTLOG__API__MAX_BATCH_EVENTS" in str(seen[0].message)


@pytest.mark.parametrize(
    ("model", "variable"),
    [
        (RegistrySettings, "QUESTLOG__REGISTRY__DATABASE_URL"),
        (SparkSettings, "QUESTLOG__LAKE__ROOT"),
    ],
)
def test_a_setting_a_deployable_cannot_do_without_is_asked_for_by_its_name(
    model: type[RegistrySettings | SparkSettings], variable: str
) -> None:
    with pytest.raises(SettingsError, match=f"^{variable}: Field required$"):
        read(model)


def test_an_invalid_setting_is_named_by_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUESTLOG__API__MAX_BATCH_EVENTS", "0")
    with pytest.raises(SettingsError, match="QUESTLOG__API__MAX_BATCH_EVENTS: Input should be"):
        read(ApiSettings)


def test_no_deployables_default_follows_where_its_package_is() -> None:
    """Inside an image the source tree means nothing: a deployable's defaults are the same
    wherever it is installed (but the catalog's own files, which its package carries)."""
    deployables = [
        ApiSettings(),
        RegistrySettings(registry={"database_url": "sqlite:///registry.db"}),
        SparkSettings(lake={"root": "file:///lake"}),
        LoadSettings(),
    ]
    for settings in deployables:
        defaults = settings.model_dump_json(exclude={"lake": {"catalog_dir"}})
        assert str(REPO_ROOT) not in defaults, type(settings).__name__
    assert EVENTS_DIR.name == "events" and (EVENTS_DIR / "join_guild.v1.json").is_file()


def test_each_deployable_reads_only_its_own_sections() -> None:
    assert variables(ApiSettings) >= {"QUESTLOG__API__MAX_BATCH_EVENTS", "QUESTLOG__REGISTRY__URL"}
    for model in ApiSettings, RegistrySettings, SparkSettings, LoadSettings:
        read_by = {name.split("__")[1] for name in variables(model)}
        assert not read_by & {"STATE_DIR", "HOST", "TRINO", "METASTORE", "IMAGES"}, model
    assert "QUESTLOG__REGISTRY__PORT" not in variables(RegistrySettings)
    assert "QUESTLOG__REGISTRY__DATABASE_URL" not in variables(ApiSettings)


@pytest.mark.parametrize("model", [Settings, ApiSettings, RegistrySettings, SparkSettings])
def test_another_process_reads_the_settings_it_is_given(
    model: type[Settings | ApiSettings | RegistrySettings | SparkSettings], tmp_path: Path
) -> None:
    """What the local stack relies on: a process started with the environment of the
    stack's values of its settings reads those values, whatever it would default to."""
    stack = Settings(
        state_dir=tmp_path,
        kafka={"port": 19092, "events_topic": "other"},
        api={"trusted_proxies": ["192.0.2.0/24"], "require_write_key": False},
        stream={"trigger_seconds": 2.5},
        registry={"retry_after_seconds": 9},
    )
    given = narrow(stack, model)
    module, name = model.__module__, model.__name__
    read_back = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from {module} import {name}; "
            f"print({name}().model_dump_json(exclude={{'personal_data_key'}}))",
        ],
        env=environment(given),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert model.model_validate_json(read_back) == given
    unset = {"QUESTLOG__PERSONAL_DATA_KEY", "QUESTLOG__LOAD__SECONDS"}
    assert set(environment(given)) | unset >= variables(model) - unset
    assert json.loads(read_back).keys() == set(model.model_fields) - {"personal_data_key"}

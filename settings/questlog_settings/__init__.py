"""questlog's settings, read from the environment: each deployable reads a model of its own
(models.py), of the sections it uses (sections.py), from ``QUESTLOG__<SECTION>__<NAME>``
variables (base.py)."""

from questlog_settings.base import (
    QuestlogSettings,
    Section,
    SettingsError,
    env_name,
    environment,
    narrow,
    read,
    variables,
)
from questlog_settings.models import (
    ApiSettings,
    LoadSettings,
    RegistrySettings,
    SparkSettings,
    get_api_settings,
    get_load_settings,
    get_registry_settings,
    get_spark_settings,
)
from questlog_settings.sections import (
    DEFAULT_HOST,
    Api,
    Kafka,
    Lake,
    Load,
    Registry,
    RegistryEndpoint,
    Stream,
)

__all__ = [
    "DEFAULT_HOST",
    "Api",
    "ApiSettings",
    "Kafka",
    "Lake",
    "Load",
    "LoadSettings",
    "QuestlogSettings",
    "Registry",
    "RegistryEndpoint",
    "RegistrySettings",
    "Section",
    "SettingsError",
    "SparkSettings",
    "Stream",
    "env_name",
    "environment",
    "get_api_settings",
    "get_load_settings",
    "get_registry_settings",
    "get_spark_settings",
    "narrow",
    "read",
    "variables",
]

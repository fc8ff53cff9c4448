"""Each deployable's settings: only the sections it reads. A process reads its model once,
where it starts (the ``get_*`` functions), and passes it (or a section) to what needs it.

Nothing here follows from where the source tree is: what has no sane default everywhere
(the registry's database, the lake) must be set, and a process started without it stops
with the variable's name (``SettingsError``).
"""

from functools import lru_cache

from pydantic import SecretStr

from questlog_settings.base import QuestlogSettings, read
from questlog_settings.sections import Api, Kafka, Lake, Load, Registry, RegistryEndpoint, Stream


class PersonalDataKey(QuestlogSettings):
    # The key of the HMAC that replaces the fields the catalog marks personal "hash" (the
    # API's personal.py; the erasure job needs it where the catalog hashes user_id). Never
    # logged nor sent anywhere; a new key gives new tokens. Empty: those fields are dropped.
    personal_data_key: SecretStr = SecretStr("")


class ApiSettings(PersonalDataKey):
    """The ingest API's (questlog_ingest)."""

    kafka: Kafka = Kafka()
    api: Api = Api()
    registry: RegistryEndpoint = RegistryEndpoint()


class RegistrySettings(PersonalDataKey):
    """The pilot registry's (questlog_registry): its service and its write-key command."""

    kafka: Kafka = Kafka()
    registry: Registry


class SparkSettings(PersonalDataKey):
    """The Spark apps' (questlog_spark): the stream, the table job, maintenance, erasure."""

    kafka: Kafka = Kafka()
    lake: Lake
    stream: Stream = Stream()


class LoadSettings(QuestlogSettings):
    """The load test's (loadtest/, Locust)."""

    load: Load = Load()


@lru_cache
def get_api_settings() -> ApiSettings:
    return read(ApiSettings)


@lru_cache
def get_registry_settings() -> RegistrySettings:
    return read(RegistrySettings)


@lru_cache
def get_spark_settings() -> SparkSettings:
    return read(SparkSettings)


@lru_cache
def get_load_settings() -> LoadSettings:
    return read(LoadSettings)

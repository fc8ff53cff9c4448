"""How questlog's settings are read from the environment, whichever process reads them.

``QUESTLOG__<SECTION>__<NAME>`` sets ``<name>`` of a section (``QUESTLOG__KAFKA__BOOTSTRAP``
is ``settings.kafka.bootstrap``) and ``QUESTLOG__<NAME>`` a setting outside the sections.
The double underscores keep them apart from the variables Kubernetes gives a pod for each
Service (``QUESTLOG_API_PORT=tcp://10.96.0.12:8000`` for a Service ``questlog-api``).

The names of the release before (``QUESTLOG_<SECTION>_<NAME>``) are still read, under the
new ones and with a warning, except where they are a Service's link variable.
"""

import json
import os
import warnings
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

PREFIX, DELIMITER = "QUESTLOG__", "__"
# The names of the release before, read for one more release.
LEGACY_PREFIX, LEGACY_DELIMITER = "QUESTLOG_", "_"
Model = TypeVar("Model", bound="QuestlogSettings")


class Section(BaseModel):
    model_config = ConfigDict(frozen=True)


class SettingsError(ValueError):
    """Settings a process cannot start with; the message names their variables."""


def env_name(section: str, name: str | None = None) -> str:
    """The variable of a section's setting ``name``, or of the setting ``section`` outside
    the sections."""
    parts = [section, name] if name else [section]
    return (PREFIX + DELIMITER.join(parts)).upper()


def legacy_name(section: str, name: str | None = None) -> str:
    """What the release before named the variable of ``env_name(section, name)``."""
    parts = [section, name] if name else [section]
    return (LEGACY_PREFIX + LEGACY_DELIMITER.join(parts)).upper()


def settings_of(model: type[BaseSettings]) -> list[tuple[str, str | None]]:
    """Each setting of ``model``: (section, name) in a section, (name, None) outside."""
    found: list[tuple[str, str | None]] = []
    for key, field in model.model_fields.items():
        section = field.annotation
        if isinstance(section, type) and issubclass(section, Section):
            found += [(key, name) for name in section.model_fields]
        else:
            found.append((key, None))
    return found


def variables(model: type[BaseSettings]) -> set[str]:
    """The variable of every setting ``model`` reads."""
    return {env_name(*setting) for setting in settings_of(model)}


def legacy_variables(model: type[BaseSettings]) -> dict[str, str]:
    """The variable of every setting ``model`` reads as the release before named it, and
    its name now."""
    return {legacy_name(*setting): env_name(*setting) for setting in settings_of(model)}


def is_service_link(variable: str, environ: Mapping[str, str]) -> bool:
    """Whether ``variable`` is one Kubernetes set for a Service: ``<SERVICE>_PORT`` comes
    with ``<SERVICE>_SERVICE_HOST``."""
    service = variable.removesuffix("_PORT")
    return service != variable and f"{service}_SERVICE_HOST" in environ


class LegacyVariables(EnvSettingsSource):
    """The settings' variables as the release before named them, below the new names."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        self.names = legacy_variables(settings_cls)
        super().__init__(
            settings_cls,
            env_prefix=LEGACY_PREFIX,
            env_nested_delimiter=LEGACY_DELIMITER,
            env_nested_max_split=1,
        )

    def _load_env_vars(self) -> Mapping[str, str | None]:
        found: dict[str, str | None] = {}
        for variable, value in os.environ.items():
            if variable not in self.names or is_service_link(variable, os.environ):
                continue
            found[variable.lower()] = value
            if self.names[variable] not in os.environ:
                warn_once(variable, self.names[variable])
        return found


@cache
def warn_once(old: str, new: str) -> None:
    warnings.warn(
        f"{old} is read as {new}: rename it, the old names are read for this release only",
        FutureWarning,
        stacklevel=2,
    )


class QuestlogSettings(BaseSettings):
    """What every process's settings have in common: how they are read."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_nested_delimiter=DELIMITER, frozen=True
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, LegacyVariables(settings_cls)


def read(model: type[Model]) -> Model:
    """``model`` read from this process's environment; ``SettingsError`` naming the
    variables it cannot start with."""
    try:
        return model()
    except ValidationError as error:
        raise SettingsError(describe(error, model)) from None


def describe(error: ValidationError, model: type[BaseSettings]) -> str:
    """The errors of ``model``'s settings, each named by its variable (a missing section by
    the variables it needs)."""
    reasons = []
    for found in error.errors():
        where = [str(part) for part in found["loc"][:2]]
        message = found["msg"].removeprefix("Value error, ")
        if not where:
            reasons.append(message)
        elif len(where) == 1 and found["type"] == "missing":
            section = model.model_fields[where[0]].annotation
            needed = getattr(section, "model_fields", {})
            names = [env_name(where[0], n) for n, f in needed.items() if f.is_required()]
            reasons += [f"{name}: {message}" for name in names or [env_name(*where)]]
        else:
            reasons.append(f"{env_name(*where)}: {message}")
    return "; ".join(reasons)


def narrow(settings: BaseSettings, model: type[Model]) -> Model:
    """The settings of ``model`` (a process's) that ``settings`` (a wider model's, such as
    the local stack's) hold, without reading the environment."""
    fields = set(model.model_fields)
    return model.model_validate(settings.model_dump(include=fields))


def environment(settings: BaseSettings) -> dict[str, str]:
    """``settings`` as the variables that make another process read them (the secret
    personal-data key excepted: it is passed only where it is needed). An unset optional
    setting is left out, as it is unset there too."""
    found: dict[str, str] = {}
    for key, value in settings.model_dump(mode="json", exclude={"personal_data_key"}).items():
        if isinstance(value, dict):
            items = {env_name(key, name): item for name, item in value.items()}
        else:
            items = {env_name(key): value}
        found |= {name: _text(item) for name, item in items.items() if item is not None}
    return found


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)

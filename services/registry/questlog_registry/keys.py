"""Write keys: who may post events. A key is a random token shown once, when it is created;
the registry's database keeps its SHA-256 digest (a key has 256 random bits, so a fast hash
is enough) and its name, which lands with every event posted with it (``source``)."""

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from questlog_registry.models import WriteKey
from questlog_registry.store import NAME_LIMIT, Registry, RegistryError, open_engine, text

# Makes a key recognisable as questlog's (in a leaked file, to a secret scanner).
PREFIX = "qlk_"


class DuplicateKey(RegistryError):
    status = 409


class UnknownKey(RegistryError):
    status = 404


@dataclass(frozen=True)
class Holder:
    """Whom a key was given to."""

    name: str
    revoked: bool


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@contextmanager
def opened(url: str, password: str = "") -> Iterator["WriteKeys"]:
    """The write keys of the registry at ``url``, migrated first; closed afterwards."""
    registry = Registry(open_engine(url, password))
    try:
        registry.migrate()
        yield WriteKeys(registry)
    finally:
        registry.engine.dispose()


class WriteKeys:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def create(self, name: object) -> str:
        """A new key named ``name``: returned once, stored only as its digest."""
        name = text("name", name, NAME_LIMIT)
        key = PREFIX + secrets.token_urlsafe(32)
        row = WriteKey(name=name, digest=digest(key), created_at=datetime.now(UTC))
        with self.registry.session() as session, session.begin():
            session.add(row)
            try:
                session.flush()
            except IntegrityError:
                raise DuplicateKey(f"a write key named {name!r} already exists") from None
        return key

    def provision(self, name: str, key: str) -> None:
        """Make ``key`` the key named ``name``: created, or its digest replaced (and it active
        again) when a deployment's secret holds a new one. The same key, revoked, stays
        revoked. Replicas starting together may race: the loser finds it done."""
        try:
            with self.registry.session() as session, session.begin():
                held = session.scalar(select(WriteKey).where(WriteKey.name == name))
                if held is None:
                    row = WriteKey(name=name, digest=digest(key), created_at=datetime.now(UTC))
                    session.add(row)
                elif held.digest != digest(key):
                    held.digest, held.revoked_at = digest(key), None
        except IntegrityError:
            pass  # another replica stored it first

    def listing(self) -> list[dict[str, Any]]:
        with self.registry.session() as session:
            keys = session.scalars(select(WriteKey).order_by(WriteKey.id))
            return [key.as_dict() for key in keys]

    def revoke(self, name: str) -> None:
        with self.registry.session() as session, session.begin():
            key = session.scalar(select(WriteKey).where(WriteKey.name == name))
            if key is None:
                raise UnknownKey(f"no write key named {name!r}")
            key.revoked_at = key.revoked_at or datetime.now(UTC)

    def holder(self, key: str) -> Holder | None:
        """Whom ``key`` was given to; None for a key that was never created."""
        with self.registry.session() as session:
            found = session.scalar(select(WriteKey).where(WriteKey.digest == digest(key)))
            return Holder(found.name, found.revoked_at is not None) if found else None

"""Write keys: who may post events. A key is a random token shown once, when it is created;
the registry's database keeps its SHA-256 digest (a key has 256 random bits, so a fast hash
is enough) and its name, which lands with every event posted with it (``source``).

``python -m questlog_registry.keys create NAME [--operator] | list | revoke NAME`` manages
them on the database of the registry's settings (``QUESTLOG__REGISTRY__DATABASE_URL``,
``QUESTLOG__REGISTRY__DATABASE_PASSWORD``). Run it where the registry runs, e.g.
``kubectl exec deploy/questlog-api-registry -- python -m questlog_registry.keys list``;
``questlog keys`` runs it on the local stack's registry. A new key is printed once, alone on
standard output (so ``KEY=$(... create NAME)`` works); only its digest is stored.

An operator's key (``--operator``) may also do what only an operator may: replay every
stored enrolment and fitting into the pipeline (``POST /v1/pilots/replay``)."""

import argparse
import hashlib
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from questlog_settings import (
    Api,
    RegistrySettings,
    SettingsError,
    env_name,
    get_registry_settings,
)
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from questlog_registry.models import WriteKey
from questlog_registry.store import NAME_LIMIT, Registry, RegistryError, open_engine, text

# Makes a key recognisable as questlog's (in a leaked file, to a secret scanner).
PREFIX = "qlk_"
PROG = "python -m questlog_registry.keys"
DESCRIPTION = "Create, list and revoke write keys."


class DuplicateKey(RegistryError):
    status = 409


class UnknownKey(RegistryError):
    status = 404


@dataclass(frozen=True)
class Holder:
    """Whom a key was given to."""

    name: str
    revoked: bool
    operator: bool = False


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

    def create(self, name: object, operator: bool = False) -> str:
        """A new key named ``name`` (an operator's, if ``operator``): returned once, stored
        only as its digest."""
        name = text("name", name, NAME_LIMIT)
        key = PREFIX + secrets.token_urlsafe(32)
        row = WriteKey(
            name=name, digest=digest(key), created_at=datetime.now(UTC), operator=operator
        )
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
        return self.holder_of(digest(key))

    def holder_of(self, key_digest: str) -> Holder | None:
        """Whom the key of this digest was given to; None for a key never created."""
        with self.registry.session() as session:
            found = session.scalar(select(WriteKey).where(WriteKey.digest == key_digest))
            if found is None:
                return None
            return Holder(found.name, found.revoked_at is not None, found.operator)


def add_actions(command: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``command`` with the actions create, list and revoke: this module's own command, or
    ``questlog keys``, whose help is then these actions'."""
    actions = command.add_subparsers(dest="action", required=True)
    created = actions.add_parser("create", help="create a key and print it (once)")
    created.add_argument("name", help="who holds it; stored with each event as its source")
    created.add_argument(
        "--operator",
        action="store_true",
        help="an operator's key: it may also replay the registry into the pipeline",
    )
    actions.add_parser("list", help="the keys' names, when created, when revoked")
    revoked = actions.add_parser("revoke", help="refuse the key's requests from now on")
    revoked.add_argument("name")
    return command


def run(args: argparse.Namespace, settings: RegistrySettings) -> None:
    with opened(settings.registry.database_url, settings.registry.database_password) as keys:
        if args.action == "create":
            key = keys.create(args.name, args.operator)
            kind = "Operator key" if args.operator else "Write key"
            print(f"{kind} {args.name!r} (shown only this once):", file=sys.stderr)
            print(key)
        elif args.action == "revoke":
            keys.revoke(args.name)
            cache = Api.model_fields["write_key_cache_seconds"].default
            print(
                f"Revoked {args.name!r}: refused by every API replica once its cache of the "
                f"key expires ({env_name('api', 'write_key_cache_seconds')}, {cache:g} s by "
                "default).",
                file=sys.stderr,
            )
        else:
            listing = keys.listing()
            for held in listing:
                state = f"revoked {held['revoked_at']}" if held["revoked_at"] else "active"
                scope = "operator" if held["operator"] else "events"
                print(f"{held['name']:<32} {scope:<8} created {held['created_at']}  {state}")
            if not listing:
                print("No write keys yet: questlog keys create NAME", file=sys.stderr)


def carry_out(args: argparse.Namespace, settings: RegistrySettings, prog: str) -> int:
    """Run the action ``args`` name: 0, or 1 when the registry refuses it or its database
    cannot be used (told on standard error as ``prog``'s)."""
    try:
        run(args, settings)
    except RegistryError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 1
    except OperationalError as error:
        where = make_url(settings.registry.database_url).render_as_string(hide_password=True)
        reason = f"the registry's database {where} cannot be used: {error.orig}"
        print(f"{prog}: {reason}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None, settings: RegistrySettings | None = None) -> int:
    command = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION)
    args = add_actions(command).parse_args(argv)
    try:
        settings = settings or get_registry_settings()
    except SettingsError as error:
        print(f"{PROG}: invalid settings: {error}", file=sys.stderr)
        return 2
    return carry_out(args, settings, PROG)


if __name__ == "__main__":
    sys.exit(main())

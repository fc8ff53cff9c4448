"""``python -m questlog_ingest.keys create NAME | list | revoke NAME``: the write keys that
may post events, on the registry's database of the API's settings
(``QUESTLOG_REGISTRY_URL``, ``QUESTLOG_REGISTRY_PASSWORD``). Run it where the API runs,
e.g. ``kubectl exec deploy/questlog-api -- python -m questlog_ingest.keys list``;
``questlog keys`` runs it on the local stack's registry.

A new key is printed once, alone on standard output (so ``KEY=$(... create NAME)`` works);
only its digest is stored."""

import argparse
import sys

from questlog_registry.keys import opened
from questlog_registry.store import RegistryError
from questlog_settings import Settings, get_settings
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError


def parser(prog: str) -> argparse.ArgumentParser:
    found = argparse.ArgumentParser(prog=prog, description="Create, list and revoke write keys.")
    actions = found.add_subparsers(dest="action", required=True)
    created = actions.add_parser("create", help="create a key and print it (once)")
    created.add_argument("name", help="who holds it; stored with each event as its source")
    actions.add_parser("list", help="the keys' names, when created, when revoked")
    revoked = actions.add_parser("revoke", help="refuse the key's requests from now on")
    revoked.add_argument("name")
    return found


def run(args: argparse.Namespace, settings: Settings) -> None:
    with opened(settings.registry.url, settings.registry.password) as keys:
        if args.action == "create":
            key = keys.create(args.name)
            print(f"Write key {args.name!r} (shown only this once):", file=sys.stderr)
            print(key)
        elif args.action == "revoke":
            keys.revoke(args.name)
            print(
                f"Revoked {args.name!r}: refused by every API replica within "
                f"{settings.api.write_key_cache_seconds:g} s.",
                file=sys.stderr,
            )
        else:
            listing = keys.listing()
            for held in listing:
                state = f"revoked {held['revoked_at']}" if held["revoked_at"] else "active"
                print(f"{held['name']:<32} created {held['created_at']}  {state}")
            if not listing:
                print("No write keys yet: questlog keys create NAME", file=sys.stderr)


def main(
    argv: list[str] | None = None,
    prog: str = "python -m questlog_ingest.keys",
    settings: Settings | None = None,
) -> int:
    args = parser(prog).parse_args(argv)
    settings = settings or get_settings()
    try:
        run(args, settings)
    except RegistryError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 1
    except OperationalError as error:
        where = make_url(settings.registry.url).render_as_string(hide_password=True)
        reason = f"the registry's database {where} cannot be used: {error.orig}"
        print(f"{prog}: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

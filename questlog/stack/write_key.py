"""The local stack's own write key, an operator's (its owner runs the stack): created in
its registry when the stack first starts, kept in ``Settings.write_key_file`` (readable by
its owner only), and handed to
questlog's clients (the canary, ``questlog load``, the demo, the benchmarks) through
``QUESTLOG_WRITE_KEY``, as every client of the ingest API finds its key."""

import itertools
import os
from pathlib import Path

from questlog.settings import Settings

NAME = "stack"
ENV = "QUESTLOG_WRITE_KEY"


def ensure(settings: Settings) -> str:
    """The stack's key: the one in its file while the registry holds it unrevoked and an
    operator's, else a new one (named ``stack``, or ``stack-2``, ... when that name is
    taken)."""
    # Imported here: the images of Kafka, the metastore and Trino run the stack's components
    # (questlog.stack.container) without the registry's package (SQLAlchemy).
    from questlog_registry.keys import opened

    path = settings.write_key_file
    with opened(settings.registry.database_url) as keys:
        if path.exists():
            key = path.read_text().strip()
            holder = keys.holder(key)
            if holder is not None and not holder.revoked and holder.operator:
                return key
        taken = {key["name"] for key in keys.listing()}
        names = itertools.chain([NAME], (f"{NAME}-{n}" for n in itertools.count(2)))
        key = keys.create(next(name for name in names if name not in taken), operator=True)
    write_private(path, key)
    return key


def write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text + "\n")


def export(settings: Settings) -> None:
    """Give this process and its children the stack's key, unless one is set already."""
    if ENV not in os.environ and settings.write_key_file.exists():
        os.environ[ENV] = settings.write_key_file.read_text().strip()

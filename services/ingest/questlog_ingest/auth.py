"""Who may post events: the ``Authorization: Bearer <write key>`` header, checked against
the registry's write keys (the registry knows them by their SHA-256 digest). What a key was
found to be is cached for ``write_key_cache_seconds``, so a request costs no call to the
registry and a revocation takes effect within that time on every replica."""

import hashlib

from cachetools import TTLCache
from fastapi import HTTPException, Request

from questlog_ingest.registry import Holder, RegistryClient

REALM = 'Bearer realm="questlog"'
# Distinct keys remembered: past this, the least recently used is read again when next used.
CACHED_KEYS = 10_000


def unauthorized(detail: str, error: str | None = None) -> HTTPException:
    challenge = f'{REALM}, error="{error}"' if error else REALM
    return HTTPException(401, detail, headers={"WWW-Authenticate": challenge})


class Authenticator:
    def __init__(self, registry: RegistryClient, cache_seconds: float) -> None:
        self.registry = registry
        self.known: TTLCache[str, Holder | None] = TTLCache(CACHED_KEYS, cache_seconds)

    async def holder(self, key: str) -> Holder | None:
        digest = hashlib.sha256(key.encode()).hexdigest()
        if digest in self.known:
            return self.known[digest]
        holder = await self.registry.holder(digest)
        self.known[digest] = holder
        return holder

    async def source(self, request: Request) -> str:
        """The name of the request's write key; 401 or 403 when it may not post."""
        header = request.headers.get("authorization")
        if header is None:
            raise unauthorized("send a write key: Authorization: Bearer <key>")
        scheme, _, key = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise unauthorized(
                "the Authorization header must be 'Bearer <key>'", error="invalid_request"
            )
        holder = await self.holder(key.strip())
        if holder is None:
            raise unauthorized("the write key is not known", error="invalid_token")
        if holder.revoked:
            raise HTTPException(403, f"the write key {holder.name!r} was revoked")
        return holder.name

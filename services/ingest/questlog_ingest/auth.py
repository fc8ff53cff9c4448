"""Who may post events: a write key, checked against the registry's write keys (the
registry knows them by their SHA-256 digest). A client sends it as ``Authorization: Bearer
<key>``, or as the user name of HTTP Basic with no password (``Basic base64(<key>:)``), as
browsers and ``ab -A <key>:`` send it. What a key was found to be is cached for
``write_key_cache_seconds``, so a request costs no call to the registry and a revocation
takes effect within that time on every replica."""

import base64
import binascii
import hashlib

from cachetools import TTLCache
from fastapi import HTTPException, Request

from questlog_ingest.registry import Holder, RegistryClient

REALM = 'realm="questlog"'
# Distinct keys remembered: past this, the least recently used is read again when next used.
CACHED_KEYS = 10_000


def unauthorized(detail: str, scheme: str, error: str | None = None) -> HTTPException:
    """A 401 whose challenge names ``scheme``: Bearer (with RFC 6750's ``error``), or Basic
    where a browser should ask for the key."""
    challenge = f"{scheme} {REALM}"
    if error and scheme == "Bearer":
        challenge += f', error="{error}"'
    return HTTPException(401, detail, headers={"WWW-Authenticate": challenge})


def key_of(header: str) -> str | None:
    """The write key an Authorization header carries, or None when it carries none."""
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return credentials or None
    if scheme.lower() == "basic":
        try:
            user, _, _ = base64.b64decode(credentials, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user or None
    return None


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

    async def admitted(self, request: Request, scheme: str = "Bearer") -> Holder:
        """Whom the request's write key was given to; 401 (challenging ``scheme``) or 403
        when it may not post."""
        header = request.headers.get("authorization")
        if header is None:
            raise unauthorized("send a write key: Authorization: Bearer <key>", scheme)
        key = key_of(header)
        if key is None:
            raise unauthorized(
                "the Authorization header must be 'Bearer <key>' (or Basic with the key as "
                "the user name)",
                scheme,
                error="invalid_request",
            )
        holder = await self.holder(key)
        if holder is None:
            raise unauthorized("the write key is not known", scheme, error="invalid_token")
        if holder.revoked:
            raise HTTPException(403, f"the write key {holder.name!r} was revoked")
        return holder

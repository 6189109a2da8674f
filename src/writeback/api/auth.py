"""Who is calling: the API key a request presents, resolved to a project key or the admin.

A key is presented in `X-Api-Key`, as `Authorization: Bearer <key>`, or (Ampersand
compatibility, unless `WRITEBACK_ALLOW_QUERY_API_KEY=false`) as `?apiKey=`.

Resolved keys are cached for a few seconds: every write starts here, and a database lookup per
request would cost more than the rest of the request. Keys that resolve and keys that are refused
live in separate bounded caches, so a flood of wrong keys can only evict other wrong keys. A
change to any key through this process clears both at once; other processes see it within
`CACHE_SECONDS`.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from cachetools import TTLCache
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from writeback.api.problems import ApiProblem
from writeback.control.key_scopes import ALL_SCOPES, granted
from writeback.store.secrets import SecretBox
from writeback.store.tables import ApiKey

CACHE_SECONDS = 5.0
CACHE_SIZE = 10_000
_MISSING_KEY_REMEDY = (
    "Send your project's API key in the X-Api-Key header (or as `Authorization: Bearer <key>`)."
    " `writeback init` prints the first one; create more with POST /v1/projects/{project}/api-keys."
)


@dataclass(frozen=True)
class Caller:
    key_id: str | None
    project_id: str | None
    is_admin: bool
    scopes: frozenset[str] = ALL_SCOPES
    prefix: str | None = None  # the key's first characters, safe to show
    label: str | None = None

    def can_see(self, project_id: str) -> bool:
        return self.is_admin or self.project_id == project_id

    def describe(self) -> str:
        """The key as error messages name it (never the secret)."""
        if self.prefix is None:
            return "the admin key"
        return f"API key {self.prefix}… ({self.label})" if self.label else f"API key {self.prefix}…"


ADMIN = Caller(key_id=None, project_id=None, is_admin=True)


def presented_key(scope: Mapping[str, Any], *, allow_query: bool) -> str | None:
    """The key an HTTP request (ASGI scope) presents: `X-Api-Key`, else `Authorization: Bearer`,
    else `?apiKey=`. Used by the auth gate, the dependency fallback and the write fast path."""
    authorization = None
    for name, value in scope.get("headers", ()):
        if name == b"x-api-key" and value.strip():
            return value.strip().decode("latin-1")
        if name == b"authorization":
            authorization = value.decode("latin-1").strip()
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer":
            if token.strip():
                return token.strip()
        elif _query_key(scope) is None:
            raise ApiProblem(
                401,
                f"The Authorization header uses the {scheme!r} scheme, which writeback does not"
                " accept.",
                remedy="Send `Authorization: Bearer <api key>` or the key in the X-Api-Key header.",
            )
    query_key = _query_key(scope)
    if query_key is not None and not allow_query:
        raise ApiProblem(
            401,
            "API keys in the query string (?apiKey=) are switched off on this server.",
            remedy="Send the key in the X-Api-Key header or as `Authorization: Bearer <key>`"
            " (query strings end up in proxy and server logs).",
        )
    return query_key


def _query_key(scope: Mapping[str, Any]) -> str | None:
    query: bytes = scope.get("query_string", b"")
    if b"apiKey=" not in query:
        return None
    for name, value in parse_qsl(query.decode("latin-1")):
        if name == "apiKey" and value:
            return value
    return None


def plain_secret(value: Any) -> str | None:
    """A setting that may be a plain string or a pydantic `SecretStr`, unwrapped."""
    if value is not None and hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    return value or None


class Authenticator:
    def __init__(
        self,
        sessions: async_sessionmaker,
        box: SecretBox,
        admin_key: Any,
        *,
        seconds: float = CACHE_SECONDS,
        size: int = CACHE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._box = box
        admin = plain_secret(admin_key)
        self._admin_digest = box.digest(admin) if admin else None
        self._known: TTLCache[str, Caller] = TTLCache(size, seconds, timer=clock)
        self._refused: TTLCache[str, tuple[str, str]] = TTLCache(size, seconds, timer=clock)
        self._generation = 0  # bumped by clear(): a lookup begun before it is not kept

    def clear(self) -> None:
        self._generation += 1
        self._known.clear()
        self._refused.clear()

    async def caller_for_key(self, key: str | None) -> Caller:
        if not key:
            raise ApiProblem(401, "No API key was sent.", remedy=_MISSING_KEY_REMEDY)
        digest = self._box.digest(key)
        if self._admin_digest and hmac.compare_digest(digest, self._admin_digest):
            return ADMIN
        found: Caller | tuple[str, str] | None = self._known.get(digest) or self._refused.get(
            digest
        )
        if found is None:
            generation = self._generation
            found = await self._lookup(digest)
            if generation == self._generation:
                if isinstance(found, Caller):
                    self._known[digest] = found
                else:
                    self._refused[digest] = found
        if isinstance(found, tuple):
            detail, remedy = found  # a fresh exception each time, never a shared one
            raise ApiProblem(401, detail, remedy=remedy)
        return found

    async def _lookup(self, digest: str) -> Caller | tuple[str, str]:
        async with self._sessions() as session:
            record = (
                await session.execute(select(ApiKey).where(ApiKey.digest == digest))
            ).scalar_one_or_none()
        if record is None:
            return (
                "The API key is not valid.",
                "Check for a typo or a deleted key; keys are shown only once at creation.",
            )
        if not record.active:
            return (
                f"The API key {record.prefix}… is deactivated.",
                'Reactivate it with PATCH …/api-keys/{id} {"updateMask":["active"]}'
                " or use another key.",
            )
        return Caller(
            key_id=record.id,
            project_id=record.project_id,
            is_admin=record.is_admin,
            scopes=ALL_SCOPES if record.is_admin else granted(record.scopes),
            prefix=record.prefix,
            label=record.label,
        )


def require_admin(caller: Caller, action: str) -> None:
    if not caller.is_admin:
        raise ApiProblem(
            403,
            f"Only an admin key may {action}.",
            remedy="Use the admin key (WRITEBACK_ADMIN_KEY, or the one `writeback init` printed).",
        )

"""Who is calling: an API key from `X-Api-Key` (or `?apiKey=`), resolved to a project or admin.

Resolved keys are cached for a few seconds: every write starts here, and a database lookup per
request would cost more than the rest of the request. A change to any key through this process
clears the cache at once; other processes see it within `CACHE_SECONDS`.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from writeback.api.problems import ApiProblem
from writeback.store.secrets import SecretBox
from writeback.store.tables import ApiKey

CACHE_SECONDS = 5.0
_MISSING_KEY_REMEDY = (
    "Send your project's API key in the X-Api-Key header. `writeback init` prints the first one;"
    " create more with POST /v1/projects/{project}/api-keys."
)


@dataclass(frozen=True)
class Caller:
    key_id: str | None
    project_id: str | None
    is_admin: bool

    def can_see(self, project_id: str) -> bool:
        return self.is_admin or self.project_id == project_id


ADMIN = Caller(key_id=None, project_id=None, is_admin=True)


def presented_key(request: Request) -> str | None:
    return request.headers.get("x-api-key") or request.query_params.get("apiKey") or None


class Authenticator:
    def __init__(self, sessions: async_sessionmaker, box: SecretBox, admin_key: str | None) -> None:
        self._sessions = sessions
        self._box = box
        self._admin_digest = box.digest(admin_key) if admin_key else None
        self._cache: dict[str, tuple[float, Caller | tuple[str, str]]] = {}

    def clear(self) -> None:
        self._cache.clear()

    async def caller(self, request: Request) -> Caller:
        return await self.caller_for_key(presented_key(request))

    async def caller_for_key(self, key: str | None) -> Caller:
        if not key:
            raise ApiProblem(401, "No API key was sent.", remedy=_MISSING_KEY_REMEDY)
        digest = self._box.digest(key)
        if self._admin_digest and hmac.compare_digest(digest, self._admin_digest):
            return ADMIN
        cached = self._cache.get(digest)
        if cached is None or cached[0] < time.monotonic():
            cached = (time.monotonic() + CACHE_SECONDS, await self._lookup(digest))
            if len(self._cache) > 10_000:
                self._cache.clear()  # bounded: a flood of wrong keys cannot grow it forever
            self._cache[digest] = cached
        found = cached[1]
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
        return Caller(key_id=record.id, project_id=record.project_id, is_admin=record.is_admin)


def require_admin(caller: Caller, action: str) -> None:
    if not caller.is_admin:
        raise ApiProblem(
            403,
            f"Only an admin key may {action}.",
            remedy="Use the admin key (WRITEBACK_ADMIN_KEY, or the one `writeback init` printed).",
        )

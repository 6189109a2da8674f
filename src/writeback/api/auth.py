"""Who is calling: an API key from `X-Api-Key` (or `?apiKey=`), resolved to a project or admin."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from writeback.api.problems import ApiProblem
from writeback.store.tables import ApiKey

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


def presented_key(request: Request) -> str | None:
    return request.headers.get("x-api-key") or request.query_params.get("apiKey") or None


async def authenticate(request: Request, session: AsyncSession) -> Caller:
    key = presented_key(request)
    if not key:
        raise ApiProblem(401, "No API key was sent.", remedy=_MISSING_KEY_REMEDY)
    state = request.app.state.writeback
    digest = state.box.digest(key)
    if state.admin_key_digest and hmac.compare_digest(digest, state.admin_key_digest):
        return Caller(key_id=None, project_id=None, is_admin=True)
    record = (
        await session.execute(select(ApiKey).where(ApiKey.digest == digest))
    ).scalar_one_or_none()
    if record is None:
        raise ApiProblem(
            401,
            "The API key is not valid.",
            remedy="Check for a typo or a deleted key; keys are shown only once at creation.",
        )
    if not record.active:
        raise ApiProblem(
            401,
            f"The API key {record.prefix}… is deactivated.",
            remedy='Reactivate it with PATCH …/api-keys/{id} {"updateMask":["active"]} '
            "or use another key.",
        )
    return Caller(key_id=record.id, project_id=record.project_id, is_admin=record.is_admin)


def require_admin(caller: Caller, action: str) -> None:
    if not caller.is_admin:
        raise ApiProblem(
            403,
            f"Only an admin key may {action}.",
            remedy="Use the admin key (WRITEBACK_ADMIN_KEY, or the one `writeback init` printed).",
        )

"""Projects and API keys: creation, lookup and the admin bootstrap."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from writeback.control.key_scopes import DEFAULT_SCOPES, FULL, normalize_scopes
from writeback.store.secrets import SecretBox, new_api_key
from writeback.store.tables import ApiKey, Project

PROJECT_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]$")
PROJECT_NAME_RULE = (
    "2 to 128 letters, digits and dashes, starting and ending with a letter or digit"
)


class ProjectNameError(ValueError):
    pass


class ProjectExistsError(ValueError):
    pass


def normalize_project_name(name: str) -> str:
    if not (2 <= len(name) <= 128) or not PROJECT_NAME.match(name):
        raise ProjectNameError(f"project name {name!r} is not valid: use {PROJECT_NAME_RULE}")
    return name.lower()


def looks_like_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def find_project(session: AsyncSession, id_or_name: str) -> Project | None:
    condition = func.lower(Project.name) == id_or_name.lower()
    if looks_like_uuid(id_or_name):
        condition = or_(Project.id == id_or_name.lower(), condition)
    return (await session.execute(select(Project).where(condition))).scalars().first()


async def create_project(
    session: AsyncSession, name: str, app_name: str | None = None, org_id: str | None = None
) -> Project:
    normalized = normalize_project_name(name)
    if await find_project(session, normalized):
        raise ProjectExistsError(f"a project named {normalized!r} already exists")
    project = Project(name=normalized, app_name=app_name or name, org_id=org_id)
    session.add(project)
    await session.flush()
    return project


@dataclass(frozen=True)
class NewKey:
    """A freshly made key: `secret` exists only here, the database keeps its digest."""

    record: ApiKey
    secret: str


async def create_api_key(
    session: AsyncSession,
    box: SecretBox,
    *,
    project_id: str | None,
    label: str,
    scopes: list[str] | None = None,
    is_admin: bool = False,
) -> NewKey:
    """A new key with `scopes` (default: write, read, manage; raises ScopeError for unknown
    names). Admin keys have every scope whatever their list says."""
    if is_admin:
        scopes = [FULL] if scopes is None else scopes
    else:
        scopes = normalize_scopes(DEFAULT_SCOPES if scopes is None else scopes)
    secret = new_api_key()
    record = ApiKey(
        project_id=project_id,
        digest=box.digest(secret),
        prefix=secret[:10],
        label=label,
        scopes=list(scopes),
        active=True,
        is_admin=is_admin,
    )
    session.add(record)
    await session.flush()
    return NewKey(record, secret)


async def has_admin_key(session: AsyncSession) -> bool:
    query = select(ApiKey.id).where(ApiKey.is_admin.is_(True)).limit(1)
    return (await session.execute(query)).first() is not None

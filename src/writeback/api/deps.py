"""Per-request context: a database session, the authenticated caller and project lookup."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from writeback.api.auth import Caller, authenticate
from writeback.api.problems import not_found
from writeback.connectors.credentials import CredentialStore
from writeback.connectors.http import ProviderHttp
from writeback.control.projects import find_project
from writeback.settings import Settings
from writeback.store.secrets import SecretBox
from writeback.store.tables import Project
from writeback.writes.executor import WriteService


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker
    box: SecretBox
    admin_key_digest: str | None
    http: ProviderHttp
    credentials: CredentialStore
    writes: WriteService


def app_state(request: Request) -> AppState:
    return request.app.state.writeback


async def open_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with app_state(request).sessions() as session:
        yield session


@dataclass
class Ctx:
    session: AsyncSession
    caller: Caller
    state: AppState

    async def project(self, id_or_name: str) -> Project:
        """The project, if the caller may see it; otherwise 404 (never reveal other projects)."""
        project = await find_project(self.session, id_or_name)
        if project is None or not self.caller.can_see(project.id):
            raise not_found(
                "Project",
                id_or_name,
                "Use the project id or name your API key belongs to (GET /v1/projects lists them).",
            )
        return project


async def context(request: Request, session: Annotated[AsyncSession, Depends(open_session)]) -> Ctx:
    caller = await authenticate(request, session)
    return Ctx(session=session, caller=caller, state=app_state(request))


CtxDep = Annotated[Ctx, Depends(context)]

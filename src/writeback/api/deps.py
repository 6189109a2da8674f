"""Per-request context: a database session, the authenticated caller and project lookup."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from writeback.api.auth import Authenticator, Caller
from writeback.api.problems import not_found
from writeback.connectors.credentials import CredentialStore
from writeback.connectors.http import ProviderHttp
from writeback.control.projects import find_project
from writeback.operations.delivery import Delivery
from writeback.settings import Settings
from writeback.store.secrets import SecretBox
from writeback.store.tables import Project


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker
    box: SecretBox
    auth: Authenticator
    projects: ProjectCache
    http: ProviderHttp
    credentials: CredentialStore
    delivery: Delivery

    def changed(self) -> None:
        """Something in the control plane changed: drop what this process cached."""
        self.auth.clear()
        self.projects.clear()
        self.delivery.executor.clear_cache()


def app_state(request: Request) -> AppState:
    return request.app.state.writeback


async def open_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with app_state(request).sessions() as session:
        yield session


class ProjectCache:
    """Project lookups by id or name, for a few seconds (every write needs one)."""

    def __init__(self, sessions: async_sessionmaker, seconds: float = 5.0) -> None:
        self._sessions = sessions
        self._seconds = seconds
        self._entries: dict[str, tuple[float, Project | None]] = {}

    def clear(self) -> None:
        self._entries.clear()

    async def find(self, id_or_name: str) -> Project | None:
        entry = self._entries.get(id_or_name)
        if entry is None or entry[0] < time.monotonic():
            async with self._sessions() as session:
                entry = (time.monotonic() + self._seconds, await find_project(session, id_or_name))
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[id_or_name] = entry
        return entry[1]


def visible_project(project: Project | None, caller: Caller, id_or_name: str) -> Project:
    """The project, if the caller may see it; otherwise 404 (never reveal other projects)."""
    if project is None or not caller.can_see(project.id):
        raise not_found(
            "Project",
            id_or_name,
            "Use the project id or name your API key belongs to (GET /v1/projects lists them).",
        )
    return project


@dataclass
class Ctx:
    session: AsyncSession
    caller: Caller
    state: AppState

    async def project(self, id_or_name: str) -> Project:
        """The project, if the caller may see it; otherwise 404 (never reveal other projects)."""
        return visible_project(
            await find_project(self.session, id_or_name), self.caller, id_or_name
        )


async def context(request: Request, session: Annotated[AsyncSession, Depends(open_session)]) -> Ctx:
    state = app_state(request)
    caller = await state.auth.caller(request)
    if request.method not in ("GET", "HEAD"):
        state.changed()
    return Ctx(session=session, caller=caller, state=state)


CtxDep = Annotated[Ctx, Depends(context)]

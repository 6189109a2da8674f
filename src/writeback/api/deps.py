"""Per-request context: a database session, the authenticated caller and project lookup."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated

from cachetools import TTLCache
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from writeback.api.auth import Authenticator, Caller, presented_key
from writeback.api.gate import CALLER, admit
from writeback.api.problems import not_found
from writeback.api.scopes import RouteTable
from writeback.connectors.credentials import CredentialStore
from writeback.connectors.http import ProviderHttp
from writeback.control.object_metadata import ObjectMetadataService
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
    routes: RouteTable
    http: ProviderHttp
    credentials: CredentialStore
    delivery: Delivery
    object_metadata: ObjectMetadataService

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
    """Project lookups by id or name, for a few seconds (every write needs one). Found and
    unknown names are kept apart, so a flood of unknown names cannot evict real projects."""

    def __init__(
        self,
        sessions: async_sessionmaker,
        seconds: float = 5.0,
        size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._found: TTLCache[str, Project] = TTLCache(size, seconds, timer=clock)
        self._unknown: TTLCache[str, bool] = TTLCache(size, seconds, timer=clock)
        self._generation = 0  # bumped by clear(): a lookup begun before it is not kept

    def clear(self) -> None:
        self._generation += 1
        self._found.clear()
        self._unknown.clear()

    async def find(self, id_or_name: str) -> Project | None:
        project = self._found.get(id_or_name)
        if project is not None or id_or_name in self._unknown:
            return project
        generation = self._generation
        async with self._sessions() as session:
            project = await find_project(session, id_or_name)
        if generation == self._generation:
            if project is None:
                self._unknown[id_or_name] = True
            else:
                self._found[id_or_name] = project
        return project


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


async def request_caller(request: Request) -> Caller:
    """The caller the auth gate (api/gate.py) admitted, key and scopes checked before the body
    was read. Without the gate (an app served some other way) the same checks run here."""
    caller = request.scope.get("state", {}).get(CALLER)
    if caller is None:
        state = app_state(request)
        caller = await admit(state, request.scope)
        if caller is None:  # a public route that asks for a caller all the same
            allow_query = state.settings.allow_query_api_key
            caller = await state.auth.caller_for_key(
                presented_key(request.scope, allow_query=allow_query)
            )
    return caller


CallerDep = Annotated[Caller, Depends(request_caller)]


async def context(
    request: Request,
    caller: CallerDep,
    session: Annotated[AsyncSession, Depends(open_session)],
) -> Ctx:
    state = app_state(request)
    if request.method not in ("GET", "HEAD"):
        state.changed()
    return Ctx(session=session, caller=caller, state=state)


CtxDep = Annotated[Ctx, Depends(context)]

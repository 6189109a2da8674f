"""The key and project caches: bounded, expiring, and a flood of wrong keys (or unknown project
names) cannot push out the entries real callers use. Lookups are counted at the database: every
SELECT on the table, as SQLAlchemy sends it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from writeback.api.auth import Authenticator
from writeback.api.deps import ProjectCache
from writeback.api.problems import ApiProblem
from writeback.control.key_scopes import ALL_SCOPES
from writeback.control.projects import create_api_key, create_project
from writeback.store.engine import create_engine, session_factory
from writeback.store.migrate import upgrade_to_head
from writeback.store.secrets import SecretBox

SIZE = 50  # small caches, so a flood ten times their size runs in a moment
FLOOD = 10 * SIZE


@dataclass
class Clock:
    """The caches' time, moved by the test: nothing expires unless the test says so."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Queries:
    """SELECTs sent to the database, with their parameters."""

    sent: list[tuple[str, Any]] = field(default_factory=list)

    def on(self, table: str, value: str) -> int:
        return sum(
            1
            for statement, parameters in self.sent
            if f"FROM {table}" in statement and value in str(parameters)
        )

    def to(self, table: str) -> int:
        return sum(1 for statement, _ in self.sent if f"FROM {table}" in statement)


@dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker
    box: SecretBox
    queries: Queries


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'caches.db'}")
    await upgrade_to_head(engine)
    queries = Queries()

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            queries.sent.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    box = SecretBox(os.urandom(32), os.urandom(32))
    yield Database(engine, session_factory(engine), box, queries)
    await engine.dispose()


async def test_a_flood_of_wrong_keys_does_not_evict_a_valid_one(database: Database) -> None:
    async with database.sessions() as session:
        project = await create_project(session, "cache-test")
        made = await create_api_key(session, database.box, project_id=project.id, label="real")
        await session.commit()
    digest = database.box.digest(made.secret)
    clock = Clock()
    auth = Authenticator(database.sessions, database.box, None, size=SIZE, clock=clock)

    assert (await auth.caller_for_key(made.secret)).project_id == project.id
    assert database.queries.on("api_key", digest) == 1
    for n in range(FLOOD):
        with pytest.raises(ApiProblem) as refused:
            await auth.caller_for_key(f"wb_wrong-{n}")
        assert refused.value.status == 401
    assert database.queries.to("api_key") == 1 + FLOOD  # each wrong key was looked up once
    # the valid key is still cached: no new lookup
    assert (await auth.caller_for_key(made.secret)).project_id == project.id
    assert database.queries.on("api_key", digest) == 1
    # a wrong key seen again within the TTL is not looked up again either
    with pytest.raises(ApiProblem):
        await auth.caller_for_key(f"wb_wrong-{FLOOD - 1}")
    assert database.queries.to("api_key") == 1 + FLOOD

    # the counting is real: past the TTL, or after a change in this process, it is looked up
    clock.now += 6
    await auth.caller_for_key(made.secret)
    assert database.queries.on("api_key", digest) == 2
    auth.clear()
    await auth.caller_for_key(made.secret)
    assert database.queries.on("api_key", digest) == 3


async def test_a_lookup_begun_before_a_change_is_not_kept(database: Database) -> None:
    async with database.sessions() as session:
        project = await create_project(session, "cache-race")
        made = await create_api_key(session, database.box, project_id=project.id, label="k")
        await session.commit()
    digest = database.box.digest(made.secret)
    auth = Authenticator(database.sessions, database.box, None, size=SIZE, clock=Clock())
    # a change through this process (which clears the cache) lands while the lookup runs
    lookup = asyncio.ensure_future(auth.caller_for_key(made.secret))
    await asyncio.sleep(0)
    auth.clear()
    await lookup
    await auth.caller_for_key(made.secret)
    assert database.queries.on("api_key", digest) == 2  # the answer from before was not kept


async def test_unknown_project_names_do_not_evict_known_projects(database: Database) -> None:
    async with database.sessions() as session:
        project = await create_project(session, "known-project")
        await session.commit()
    projects = ProjectCache(database.sessions, size=SIZE, clock=Clock())
    assert (await projects.find("known-project")) is not None
    before = database.queries.to("project")
    for n in range(FLOOD):
        assert await projects.find(f"unknown-{n}") is None
    assert database.queries.to("project") == before + FLOOD
    found = await projects.find("known-project")
    assert found is not None and found.id == project.id
    assert database.queries.to("project") == before + FLOOD  # still cached
    projects.clear()
    await projects.find("known-project")
    assert database.queries.to("project") == before + FLOOD + 1


@pytest.mark.parametrize("wrap", [str, SecretStr], ids=["plain", "SecretStr"])
async def test_admin_key_setting_may_be_plain_or_secret(database: Database, wrap: Any) -> None:
    auth = Authenticator(database.sessions, database.box, wrap("wbadmin_the-admin-key"))
    admin = await auth.caller_for_key("wbadmin_the-admin-key")
    assert admin.is_admin and admin.scopes == ALL_SCOPES
    with pytest.raises(ApiProblem):
        await auth.caller_for_key("wbadmin_another-key")

"""The group committer bounds every wait: a full queue, a slow or absent database, and a
caller that gave up while its unit was already in a transaction (undone once it commits)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from conftest import free_port
from writeback.store.committer import GroupCommitter
from writeback.store.engine import create_engine
from writeback.store.errors import StoreUnavailable
from writeback.store.migrate import upgrade_to_head
from writeback.store.tables import Project, new_id

# the engine fixture and the tests share one event loop
pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    made = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'committer.db'}")
    await upgrade_to_head(made)
    yield made
    await made.dispose()


def add_project(name: str):  # type: ignore[no-untyped-def]
    async def unit(conn: AsyncConnection) -> None:
        await conn.execute(
            insert(Project), [{"id": new_id(), "name": name, "app_name": name, "settings": {}}]
        )

    return unit


async def names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set((await conn.execute(select(Project.name))).scalars())


def blocking(release: asyncio.Event, started: asyncio.Event):  # type: ignore[no-untyped-def]
    """A unit that holds the shared transaction open until `release` is set."""

    async def unit(conn: AsyncConnection) -> None:
        started.set()
        await release.wait()

    return unit


async def test_a_full_queue_refuses_at_once(engine: AsyncEngine) -> None:
    committer = GroupCommitter(engine, timeout=5, max_pending=2)
    release, started = asyncio.Event(), asyncio.Event()
    holder = asyncio.ensure_future(committer.run(blocking(release, started)))
    await started.wait()
    waiting = [asyncio.ensure_future(committer.run(add_project(f"p{i}"))) for i in range(2)]
    await asyncio.sleep(0)
    with pytest.raises(StoreUnavailable, match="already waiting"):
        await committer.run(add_project("p9"))
    release.set()
    await asyncio.gather(holder, *waiting)
    assert await names(engine) == {"p0", "p1"}
    await committer.close()


async def test_a_caller_that_gives_up_before_its_unit_started_leaves_nothing(
    engine: AsyncEngine,
) -> None:
    committer = GroupCommitter(engine, timeout=5)
    release, started = asyncio.Event(), asyncio.Event()
    holder = asyncio.ensure_future(committer.run(blocking(release, started)))
    await started.wait()
    with pytest.raises(StoreUnavailable, match=r"did not confirm within 0\.2s"):
        await committer.run(add_project("late"), timeout=0.2)
    release.set()
    await holder
    await committer.run(add_project("after"))
    assert await names(engine) == {"after"}  # the abandoned unit never ran
    await committer.close()


async def test_a_unit_committed_after_its_caller_gave_up_is_undone(engine: AsyncEngine) -> None:
    committer = GroupCommitter(engine, timeout=5)
    release, started = asyncio.Event(), asyncio.Event()

    async def slow_then_add(conn: AsyncConnection) -> None:
        started.set()
        await release.wait()
        await add_project("maybe")(conn)

    undone = asyncio.Event()

    async def undo(conn: AsyncConnection) -> None:
        await add_project("undone")(conn)
        undone.set()

    caller = asyncio.ensure_future(committer.run(slow_then_add, timeout=0.2, on_abandon=undo))
    await started.wait()
    with pytest.raises(StoreUnavailable):
        await caller
    release.set()  # the transaction goes on and commits after its caller gave up
    await asyncio.wait_for(undone.wait(), 5)
    assert await names(engine) == {"maybe", "undone"}
    await committer.close()


async def test_a_database_that_is_not_there_is_unavailable_not_a_crash() -> None:
    absent = create_engine(f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/none")
    committer = GroupCommitter(absent, timeout=5)
    with pytest.raises(StoreUnavailable, match="database unavailable"):
        await committer.run(add_project("x"))
    await committer.close()
    await absent.dispose()


async def test_run_until_done_waits_out_an_outage(engine: AsyncEngine) -> None:
    committer = GroupCommitter(engine, timeout=5)
    failures = 2

    async def flaky(conn: AsyncConnection) -> str:
        nonlocal failures
        if failures:
            failures -= 1
            raise OSError("connection refused")  # how a vanished database looks
        await add_project("kept")(conn)
        return "ok"

    assert await committer.run_until_done(flaky, max_wait=0.05) == "ok"
    assert failures == 0 and await names(engine) == {"kept"}
    await committer.close()

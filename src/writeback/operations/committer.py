"""Group commit: many small units of work, one transaction.

Each unit is an async function of a connection. A single task runs every unit that has
gathered in one transaction and commits once; each caller is woken with its own result only
after the commit. On SQLite this also makes this process the only writer of its writes, so
they never wait on each other for the database lock. If the shared transaction fails, each unit
is retried alone, so one bad unit cannot fail the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Table, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from writeback.store.locks import sqlite_file_lock
from writeback.store.tables import (
    AutoBatchItem,
    Connection,
    Installation,
    Operation,
    OperationLog,
    WriteJob,
)

T = TypeVar("T")
# Deferred inserts are written in this order, parents before children.
_INSERT_ORDER: tuple[Table, ...] = (
    Operation.__table__,  # type: ignore[assignment]
    WriteJob.__table__,  # type: ignore[assignment]
    AutoBatchItem.__table__,  # type: ignore[assignment]
    OperationLog.__table__,  # type: ignore[assignment]
)


_DEFERRED_KEYS = ("wb_inserts", "wb_installations", "wb_working")


def defer_insert(conn: AsyncConnection, table: Table, row: dict[str, Any]) -> None:
    """Insert `row` when the shared transaction ends: one executemany per table for all the
    units of a commit (one statement instead of one per write; on SQLite each statement is a
    round trip to the driver's thread)."""
    conn.info.setdefault("wb_inserts", {}).setdefault(table, []).append(row)


def defer_status(
    conn: AsyncConnection,
    *,
    installation: tuple[str, str] | None = None,
    working_connection: str | None = None,
) -> None:
    """Installation and connection statuses, applied once per commit (the last one wins)."""
    if installation is not None:
        conn.info.setdefault("wb_installations", {})[installation[0]] = installation[1]
    if working_connection is not None:
        conn.info.setdefault("wb_working", set()).add(working_connection)


async def _flush_deferred(conn: AsyncConnection) -> None:
    inserts: dict[Table, list[dict[str, Any]]] = conn.info.pop("wb_inserts", {})
    for table in _INSERT_ORDER:
        if inserts.get(table):
            await conn.execute(insert(table), inserts[table])
    for installation_id, status in conn.info.pop("wb_installations", {}).items():
        await conn.execute(
            update(Installation)
            .where(
                Installation.id == installation_id,
                Installation.last_operation_status.is_distinct_from(status),
            )
            .values(last_operation_status=status)
        )
    for connection_id in conn.info.pop("wb_working", set()):
        await conn.execute(
            update(Connection)
            .where(Connection.id == connection_id, Connection.status != "working")
            .values(status="working")
        )


Unit = Callable[[AsyncConnection], Awaitable[Any]]
MAX_UNITS_PER_COMMIT = 500


class GroupCommitter:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._lock = sqlite_file_lock(engine, ".writelock")
        self._pending: list[tuple[Unit, asyncio.Future[Any]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def run(self, unit: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._loop())
        done: asyncio.Future[T] = loop.create_future()
        self._pending.append((unit, done))
        self._wake.set()
        return await done

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._pending[:MAX_UNITS_PER_COMMIT]
                del self._pending[: len(batch)]
                await self._commit(batch)

    async def _commit(self, batch: list[tuple[Unit, asyncio.Future[Any]]]) -> None:
        results: list[Any] = []
        try:
            async with self._lock, self._engine.begin() as conn:
                if conn.dialect.name == "sqlite":
                    # take the write lock first: a transaction that reads and then writes
                    # would otherwise fail at once ("database is locked") whenever another
                    # process committed in between; BEGIN IMMEDIATE waits its turn instead
                    await conn.exec_driver_sql("BEGIN IMMEDIATE")
                for key in _DEFERRED_KEYS:  # a failed commit may have left some behind
                    conn.info.pop(key, None)
                for unit, _ in batch:
                    results.append(await unit(conn))
                await _flush_deferred(conn)
        except Exception as exc:
            if len(batch) == 1:
                if not batch[0][1].done():
                    batch[0][1].set_exception(exc)
                return
            for item in batch:  # find the unit that failed: each alone
                await self._commit([item])
            return
        for (_, done), result in zip(batch, results, strict=True):
            if not done.done():
                done.set_result(result)

    async def close(self) -> None:
        if self._pending:
            self._wake.set()
            await asyncio.gather(*(done for _, done in self._pending), return_exceptions=True)
        if self._task is not None:
            self._task.cancel()

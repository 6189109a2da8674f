"""Group commit for operation records: one writer task, one transaction for many writes.

Every write records an operation, its logs and the installation's last status. Committed one
by one, those commits dominate a write's cost and, on SQLite, contend for the single writer
lock. Here each write hands its rows over and waits; a single task commits whatever has
gathered in one transaction, then wakes every waiter. A waiter returns only after its rows are
committed, so an answered write is always recorded.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from writeback.store.tables import Connection, Installation, Operation, OperationLog

MAX_ROWS_PER_COMMIT = 1000


@dataclass
class OperationRows:
    operation: dict[str, Any]
    logs: list[dict[str, Any]] = field(default_factory=list)
    installation_status: tuple[str, str] | None = None  # (installation id, status)
    connection_working: str | None = None  # connection id that just worked


class OperationRecorder:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._pending: list[tuple[OperationRows, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def record(self, rows: OperationRows) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((rows, done))
        self._wake.set()
        await done

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._pending[:MAX_ROWS_PER_COMMIT]
                del self._pending[: len(batch)]
                try:
                    await self._commit([rows for rows, _ in batch])
                except Exception as exc:  # each waiter sees the failure, none is lost silently
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def _commit(self, batch: list[OperationRows]) -> None:
        statuses: dict[str, str] = {}
        working: set[str] = set()
        for rows in batch:
            if rows.installation_status:
                statuses[rows.installation_status[0]] = rows.installation_status[1]
            if rows.connection_working:
                working.add(rows.connection_working)
        async with self._engine.begin() as conn:
            await conn.execute(insert(Operation.__table__), [rows.operation for rows in batch])
            logs = [log for rows in batch for log in rows.logs]
            if logs:
                await conn.execute(insert(OperationLog.__table__), logs)
            for installation_id, status in statuses.items():
                await conn.execute(
                    update(Installation)
                    .where(
                        Installation.id == installation_id,
                        Installation.last_operation_status.is_distinct_from(status),
                    )
                    .values(last_operation_status=status)
                )
            for connection_id in working:
                await conn.execute(
                    update(Connection)
                    .where(Connection.id == connection_id, Connection.status != "working")
                    .values(status="working")
                )

    async def close(self) -> None:
        if self._pending:
            self._wake.set()
            await asyncio.gather(*(done for _, done in self._pending), return_exceptions=True)
        if self._task is not None:
            self._task.cancel()

"""Rows that record a finished write, and the unit of work that stores them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from writeback.store.tables import Connection, Installation, Operation, OperationLog


@dataclass
class OperationRows:
    operation: dict[str, Any]
    logs: list[dict[str, Any]] = field(default_factory=list)
    installation_status: tuple[str, str] | None = None  # (installation id, status)
    connection_working: str | None = None  # connection id that just worked


async def store_operation(conn: AsyncConnection, rows: OperationRows) -> None:
    await conn.execute(insert(Operation.__table__), [rows.operation])
    await store_logs_and_statuses(conn, rows)


async def store_logs_and_statuses(conn: AsyncConnection, rows: OperationRows) -> None:
    if rows.logs:
        await conn.execute(insert(OperationLog.__table__), rows.logs)
    if rows.installation_status:
        installation_id, status = rows.installation_status
        await conn.execute(
            update(Installation)
            .where(
                Installation.id == installation_id,
                Installation.last_operation_status.is_distinct_from(status),
            )
            .values(last_operation_status=status)
        )
    if rows.connection_working:
        await conn.execute(
            update(Connection)
            .where(Connection.id == rows.connection_working, Connection.status != "working")
            .values(status="working")
        )

"""Rows that record a finished write, and the unit of work that stores them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from writeback.operations.committer import defer_insert, defer_status
from writeback.store.tables import Operation, OperationLog


@dataclass
class OperationRows:
    operation: dict[str, Any]
    logs: list[dict[str, Any]] = field(default_factory=list)
    installation_status: tuple[str, str] | None = None  # (installation id, status)
    connection_working: str | None = None  # connection id that just worked


async def store_operation(conn: AsyncConnection, rows: OperationRows) -> None:
    defer_insert(conn, Operation.__table__, rows.operation)  # type: ignore[arg-type]
    store_logs_and_statuses(
        conn,
        rows.logs,
        installation_status=rows.installation_status,
        connection_working=rows.connection_working,
    )


def store_logs_and_statuses(
    conn: AsyncConnection,
    logs: list[dict[str, Any]],
    *,
    installation_status: tuple[str, str] | None = None,
    connection_working: str | None = None,
) -> None:
    """Within a group commit: everything is deferred to the commit's end."""
    for log in logs:
        defer_insert(conn, OperationLog.__table__, log)  # type: ignore[arg-type]
    defer_status(conn, installation=installation_status, working_connection=connection_working)

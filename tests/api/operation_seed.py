"""Seeding operations and their logs straight into the store, for the operations API tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from writeback.store.tables import Installation, Operation, OperationLog


async def start_operation(
    session: AsyncSession,
    installation: Installation,
    *,
    action_type: str,
    config_id: str | None,
    metadata: dict[str, Any] | None = None,
    status: str = "in_progress",
) -> Operation:
    operation = Operation(
        project_id=installation.project_id,
        integration_id=installation.integration_id,
        installation_id=installation.id,
        config_id=config_id,
        action_type=action_type,
        status=status,
        op_metadata=metadata or {},
    )
    session.add(operation)
    await session.flush()
    return operation


def add_log(
    session: AsyncSession,
    operation: Operation,
    severity: str,
    msg: str,
    *,
    error: str | None = None,
    details: dict[str, str] | None = None,
) -> OperationLog:
    message: dict[str, Any] = {"msg": msg, "operation_id": operation.id}
    if error is not None:
        message["error"] = error
    if details:
        message["details"] = details
    log = OperationLog(operation_id=operation.id, severity=severity, message=message)
    session.add(log)
    return log


def finish_operation(
    operation: Operation, installation: Installation, status: str, result: str
) -> None:
    operation.status = status
    operation.result = result
    installation.last_operation_status = status

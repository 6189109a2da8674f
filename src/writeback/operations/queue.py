"""The database as the queue: accepting asynchronous writes, claiming jobs, auto-batches.

Accepting commits the operation and its job (or the auto-batch item) in one transaction:
a write answered with an operationId is never lost, whatever happens to the process next.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from writeback.store.deferred import defer_insert, defer_status
from writeback.store.tables import (
    AutoBatch,
    AutoBatchItem,
    Installation,
    Operation,
    WriteJob,
    new_id,
)

OperationTable = Operation.__table__
AUTO_BATCH_SIZE = 100


def now() -> datetime:
    return datetime.now(UTC)


async def _mark_in_progress(conn: AsyncConnection, installation_id: str) -> None:
    await conn.execute(
        update(Installation)
        .where(
            Installation.id == installation_id,
            Installation.last_operation_status.is_distinct_from("in_progress"),
        )
        .values(last_operation_status="in_progress")
    )


def _operation_row(
    operation_id: str,
    installation: Any,
    config_id: str,
    object_name: str,
    write_type: str,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": operation_id,
        "project_id": installation.project_id,
        "integration_id": installation.integration_id,
        "installation_id": installation.id,
        "config_id": config_id,
        "action_type": "write",
        "status": "in_progress",
        "result": f"[{object_name}] {write_type} accepted",
        "metadata": {
            "objects": [object_name],
            "writeType": write_type,
            "mode": "asynchronous",
            "retry": {"attempts": 0},
            **metadata,
        },
        "create_time": now(),
        "update_time": None,
    }


async def enqueue_write(
    conn: AsyncConnection,
    *,
    operation_id: str,
    installation: Any,
    config_id: str,
    object_name: str,
    payload: dict[str, Any],
    deadline_hours: int,
    record_count: int,
) -> str:
    """One asynchronous write: its operation and its job, in the caller's transaction."""
    moment = now()
    defer_insert(
        conn,
        OperationTable,
        _operation_row(
            operation_id,
            installation,
            config_id,
            object_name,
            payload["request"]["type"],
            {"recordCount": record_count, "deadlineHours": deadline_hours},
        ),
    )
    defer_insert(
        conn,
        WriteJob.__table__,  # type: ignore[arg-type]
        job_row(operation_id, installation, "write", payload, moment, deadline_hours),
    )
    defer_status(conn, installation=(installation.id, "in_progress"))
    return operation_id


def unaccept(operation_id: str) -> Any:
    """For an accept whose commit was not confirmed to its caller (who was told to retry):
    if it committed after all, and no worker started it, it is withdrawn."""

    async def unit(conn: AsyncConnection) -> None:
        withdrawn = await conn.execute(
            update(WriteJob)
            .where(
                WriteJob.operation_id == operation_id,
                WriteJob.status == "queued",
                WriteJob.attempts == 0,
            )
            .values(status="done")
        )
        if withdrawn.rowcount:
            await conn.execute(
                update(OperationTable)
                .where(
                    OperationTable.c.id == operation_id, OperationTable.c.status == "in_progress"
                )
                .values(
                    status="failure",
                    result="not accepted: the database confirmed the write too late, after the"
                    " caller was answered 503; nothing was sent",
                    update_time=now(),
                )
            )

    return unit


async def add_to_auto_batch(
    conn: AsyncConnection,
    *,
    installation: Any,
    config_id: str,
    integration_ref: str,
    url_object: str,
    object_name: str,
    write_type: str,
    group_ref: str,
    record: dict[str, Any],
    associations: list[Any] | None,
    max_delay_seconds: float,
    retry_deadline_hours: int,
) -> str:
    """Add one record to the open batch of (installation, object, type), opening one if
    needed; the 100th record closes it and queues it at once. Returns the batch's operation."""
    query = select(AutoBatch.id, AutoBatch.operation_id, AutoBatch.size).where(
        AutoBatch.installation_id == installation.id,
        AutoBatch.object_name == url_object,
        AutoBatch.write_type == write_type,
        AutoBatch.open.is_(True),
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    found = (await conn.execute(query.limit(1))).first()
    moment = now()
    if found is None:
        batch_id, operation_id, size = new_id(), new_id(), 0
        await conn.execute(
            insert(Operation.__table__),
            [
                _operation_row(
                    operation_id,
                    installation,
                    config_id,
                    object_name,
                    write_type,
                    {"recordCount": 0, "autoBatch": True},
                )
            ],
        )
        await conn.execute(
            insert(AutoBatch.__table__),
            [
                {
                    "id": batch_id,
                    "operation_id": operation_id,
                    "project_id": installation.project_id,
                    "installation_id": installation.id,
                    "integration_ref": integration_ref,
                    "object_name": url_object,
                    "write_type": write_type,
                    "group_ref": group_ref,
                    "open": True,
                    "size": 0,
                    # the first record's maxDelay sets the batch's deadline (Ampersand's rule)
                    "flush_at": moment + timedelta(seconds=max_delay_seconds),
                    "retry_deadline_hours": retry_deadline_hours,
                    "create_time": moment,
                }
            ],
        )
        await _mark_in_progress(conn, installation.id)
    else:
        batch_id, operation_id, size = found
    await conn.execute(
        insert(AutoBatchItem.__table__),
        [{"batch_id": batch_id, "position": size, "record": record, "associations": associations}],
    )
    size += 1
    full = size >= AUTO_BATCH_SIZE
    await conn.execute(
        update(AutoBatch).where(AutoBatch.id == batch_id).values(size=size, open=not full)
    )
    if full:
        await queue_auto_batch(conn, batch_id)
    return str(operation_id)


def job_row(
    operation_id: str,
    installation: Any,
    kind: str,
    payload: dict[str, Any],
    moment: datetime,
    deadline_hours: float,
) -> dict[str, Any]:
    """A queued job for `operation_id` (every column, so rows insert together)."""
    return {
        "id": new_id(),
        "operation_id": operation_id,
        "project_id": installation.project_id,
        "installation_id": installation.id,
        "connection_id": installation.connection_id,
        "kind": kind,
        "payload": payload,
        "status": "queued",
        "attempts": 0,
        "next_attempt_at": moment,
        "deadline_at": moment + timedelta(hours=deadline_hours),
        "lease_owner": None,
        "lease_expires_at": None,
        "claim_token": None,
        "sending_attempt": None,
        "unknown_since": None,
        "create_time": moment,
        "update_time": None,
    }


async def queue_auto_batch(conn: AsyncConnection, batch_id: str) -> None:
    batch = (await conn.execute(select(AutoBatch).where(AutoBatch.id == batch_id))).one()
    installation = (
        await conn.execute(
            select(Installation.id, Installation.project_id, Installation.connection_id).where(
                Installation.id == batch.installation_id
            )
        )
    ).one()
    moment = now()
    await conn.execute(
        update(OperationTable)
        .where(OperationTable.c.id == batch.operation_id)
        .values(
            metadata={
                "objects": [batch.object_name],
                "writeType": batch.write_type,
                "mode": "asynchronous",
                "autoBatch": True,
                "recordCount": batch.size,
                "retry": {"attempts": 0},
            }
        )
    )
    await conn.execute(
        insert(WriteJob.__table__),
        [
            job_row(
                batch.operation_id,
                installation,
                "autobatch",
                {"batchId": batch_id},
                moment,
                batch.retry_deadline_hours,
            )
        ],
    )


async def flush_due_batches(conn: AsyncConnection) -> int:
    """Close every open batch whose delay has passed and queue it; returns how many."""
    due = (
        (
            await conn.execute(
                select(AutoBatch.id).where(AutoBatch.open.is_(True), AutoBatch.flush_at <= now())
            )
        )
        .scalars()
        .all()
    )
    flushed = 0
    for batch_id in due:
        closed = await conn.execute(
            update(AutoBatch)
            .where(AutoBatch.id == batch_id, AutoBatch.open.is_(True))
            .values(open=False)
        )
        if closed.rowcount == 1:  # another worker did not get there first
            await queue_auto_batch(conn, batch_id)
            flushed += 1
    return flushed

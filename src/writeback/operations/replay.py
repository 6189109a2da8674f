"""Replaying a failed write: a new attempt of the same write, on the same operation.

The operation's job is queued again with a fresh retry budget and deadline. If the last
attempt's outcome was unknown, the new one still looks for the record first; whatever it cannot
find is sent again, since replaying is the builder's decision after checking the CRM.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from writeback.operations.claims import utcnow
from writeback.operations.recording import make_log, store_logs
from writeback.store.tables import Operation, WriteJob


class NotReplayable(Exception):
    """Why this operation cannot be replayed, said for the builder."""


async def replay(conn: AsyncConnection, operation: Operation, requested_by: str) -> None:
    """Queue the operation's write again (in the caller's transaction)."""
    if operation.status != "failure":
        raise NotReplayable(
            f"operation {operation.id} is {operation.status!r}; only failed operations (including"
            " those whose outcome is unknown) can be replayed"
        )
    job = (
        await conn.execute(select(WriteJob).where(WriteJob.operation_id == operation.id))
    ).first()
    if job is None:
        raise NotReplayable(
            f"operation {operation.id} has no stored request to replay: it never reached the"
            " provider (send the write again), or its job was pruned after WRITEBACK_KEEP_DAYS"
        )
    moment = utcnow()
    window = max(job.deadline_at - job.create_time, timedelta(hours=1))
    payload: dict[str, Any] = {
        **job.payload,
        "attemptBase": job.attempts,  # the new attempts get a full budget
        "resendUnknown": True,
    }
    queued = await conn.execute(
        update(WriteJob)
        .where(WriteJob.id == job.id, WriteJob.status == "done")
        .values(
            status="queued",
            payload=payload,
            next_attempt_at=moment,
            deadline_at=moment + window,
            claim_token=None,
            lease_owner=None,
            lease_expires_at=None,
            update_time=moment,
        )
    )
    if queued.rowcount != 1:
        raise NotReplayable(f"operation {operation.id} is already being retried")
    await conn.execute(
        update(Operation)
        .where(Operation.id == operation.id)
        .values(status="in_progress", result="replay requested", update_time=moment)
    )
    unknown = " (its last attempt's outcome was unknown: the record is looked for first)"
    store_logs(
        conn,
        [
            make_log(
                operation.id,
                "INFO",
                f"replay requested by {requested_by}: attempt {job.attempts + 1} is queued"
                + (unknown if job.sending_attempt is not None else ""),
            )
        ],
        installation_status=(operation.installation_id, "in_progress"),
    )

"""The records of an attempt, each a unit for the group committer, each fenced by the claim.

Intent before effect: `intent` makes the attempt durable (its number and what is about to be
sent) and marks the job as sending; only then may the provider be called. Afterwards either
`reschedule` (try again later) or `finish` (the operation's final state) records what came of
it. A unit whose claim is no longer held changes nothing: its verdict (what the committer
answers for it) is False.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncConnection

from writeback.operations.claims import ClaimRef, held, utcnow
from writeback.operations.recording import store_logs
from writeback.store.deferred import (
    COMMIT_TIME,
    Then,
    Verdict,
    defer_fenced,
    defer_insert,
    defer_update,
)
from writeback.store.tables import Operation, OperationAttempt, WriteJob, new_id

OperationTable = Operation.__table__
AttemptTable = OperationAttempt.__table__
JobTable = WriteJob.__table__
_RUNNING = (WriteJob.status == "running",)  # one object: fenced changes group by it


@dataclass
class RunningJob:
    """A job this process holds a claim on, and what the run knows of its attempts."""

    ref: ClaimRef
    number: int  # the attempt this run makes (the job's claim count)
    unknown_attempt: int | None = None  # an earlier attempt whose outcome is unknown
    unknown_since: datetime | None = None  # when the first attempt that may have written began
    sent: bool = False  # this run's intent is recorded: the provider may have been called
    started_at: datetime | None = None
    attempt_id: str | None = None  # the row of attempt `number`, once recorded

    @property
    def operation_id(self) -> str:
        return self.ref.operation_id


async def _settle_earlier(conn: AsyncConnection, run: RunningJob, moment: datetime) -> None:
    """An earlier attempt left `sending` (its worker died mid-call) is now known as unknown."""
    if run.unknown_attempt is None:
        return
    await conn.execute(
        update(OperationAttempt)
        .where(
            OperationAttempt.operation_id == run.operation_id,
            OperationAttempt.number == run.unknown_attempt,
            OperationAttempt.status == "sending",
        )
        .values(status="unknown", finished_at=moment)
    )


def intent(run: RunningJob, plan: dict[str, Any], worker: str) -> Callable[..., Awaitable[Verdict]]:
    """Attempt `run.number` is about to call the provider with `plan`."""

    async def unit(conn: AsyncConnection) -> Verdict:
        moment = utcnow()
        values = {
            "sending_attempt": run.number,
            "unknown_since": func.coalesce(WriteJob.unknown_since, moment),
            "attempts": func.max(WriteJob.attempts, run.number)
            if conn.dialect.name == "sqlite"
            else func.greatest(WriteJob.attempts, run.number),
            "update_time": COMMIT_TIME,
        }

        async def then(conn: AsyncConnection) -> None:
            await _settle_earlier(conn, run, moment)
            defer_insert(conn, AttemptTable, attempt_row(run, plan, worker, moment))  # type: ignore[arg-type]
            run.started_at = moment

        return _fenced(conn, run, values, then)

    return unit


def attempt_row(
    run: RunningJob, plan: dict[str, Any], worker: str, moment: datetime
) -> dict[str, Any]:
    run.attempt_id = new_id()
    return {
        "id": run.attempt_id,
        "operation_id": run.operation_id,
        "number": run.number,
        "claim_token": run.ref.token,
        "worker": worker[:64],
        "status": "sending",
        "plan": plan,
        "outcome": None,
        "started_at": moment,
        "finished_at": None,
    }


def undo_intent(
    run: RunningJob, previous_attempt: int | None, previous_since: datetime | None
) -> Callable[..., Awaitable[None]]:
    """For an intent whose commit was not confirmed: it was not followed by a call, so put the
    job back as it was (the attempt row, if it exists, says it was not sent)."""

    async def unit(conn: AsyncConnection) -> None:
        restored = await conn.execute(
            update(WriteJob)
            .where(held(run.ref), WriteJob.sending_attempt == run.number)
            .values(sending_attempt=previous_attempt, unknown_since=previous_since)
            .execution_options(synchronize_session=False)
        )
        if restored.rowcount == 1:
            _mark_attempt(conn, run, "not_sent", {"reason": "intent not confirmed"})

    return unit


def _mark_attempt(
    conn: AsyncConnection, run: RunningJob, status: str, outcome: dict[str, Any] | None
) -> None:
    if run.attempt_id is not None:
        defer_update(
            conn,
            AttemptTable,  # type: ignore[arg-type]
            run.attempt_id,
            {"status": status, "outcome": outcome, "finished_at": utcnow()},
        )


def _fenced(conn: AsyncConnection, run: RunningJob, values: dict[str, Any], then: Then) -> Verdict:
    """Change the job only while this run still holds its claim; `then` only if it did."""
    return defer_fenced(
        conn,
        JobTable,  # type: ignore[arg-type]
        run.ref.job_id,
        WriteJob.claim_token,
        run.ref.token,
        values,
        where=_RUNNING,
        then=then,
    )


def reschedule(
    run: RunningJob,
    *,
    when: datetime,
    still_unknown: bool,
    attempt_status: str,
    attempt_outcome: dict[str, Any] | None,
    metadata: dict[str, Any],
    logs: list[dict[str, Any]],
) -> Callable[..., Awaitable[Verdict]]:
    """Try again at `when`. `still_unknown`: an attempt's outcome is still unknown, so the next
    one recovers it (looks before it sends a create again)."""

    async def unit(conn: AsyncConnection) -> Verdict:
        values: dict[str, Any] = {
            "status": "queued",
            "next_attempt_at": when,
            "claim_token": None,
            "lease_owner": None,
            "lease_expires_at": None,
            "update_time": COMMIT_TIME,
        }
        if still_unknown:
            if run.sent:
                values["sending_attempt"] = run.number
        else:
            values.update(sending_attempt=None, unknown_since=None)

        async def then(conn: AsyncConnection) -> None:
            await _settle_earlier(conn, run, utcnow())
            if run.sent:
                _mark_attempt(conn, run, attempt_status, attempt_outcome)
            defer_update(conn, OperationTable, run.operation_id, {"metadata": metadata})  # type: ignore[arg-type]
            store_logs(conn, logs)

        return _fenced(conn, run, values, then)

    return unit


Notify = Callable[[AsyncConnection], Awaitable[None]]


def finish(
    run: RunningJob,
    *,
    status: str,
    result: str,
    metadata: dict[str, Any],
    logs: list[dict[str, Any]],
    attempt_status: str,
    attempt_outcome: dict[str, Any] | None,
    installation_status: tuple[str, str] | None = None,
    connection_working: str | None = None,
    notify: Notify | None = None,
    unknown: bool = False,
) -> Callable[..., Awaitable[Verdict]]:
    """The operation's final state, the job done, the attempt's outcome. `unknown`: the write
    ends with an outcome nobody knows; the job remembers it, so a replay looks first."""

    async def unit(conn: AsyncConnection) -> Verdict:
        values: dict[str, Any] = {
            "status": "done",
            "lease_expires_at": None,
            "update_time": COMMIT_TIME,
        }
        if not unknown:
            values.update(sending_attempt=None, unknown_since=None)
        elif run.sent:
            values["sending_attempt"] = run.number

        async def then(conn: AsyncConnection) -> None:
            moment = utcnow()
            await _settle_earlier(conn, run, moment)
            if run.sent:
                _mark_attempt(conn, run, attempt_status, attempt_outcome)
            defer_update(
                conn,
                OperationTable,  # type: ignore[arg-type]
                run.operation_id,
                {"status": status, "result": result, "metadata": metadata, "update_time": moment},
            )
            store_logs(
                conn,
                logs,
                installation_status=installation_status,
                connection_working=connection_working,
            )
            if notify is not None:
                await notify(conn)

        return _fenced(conn, run, values, then)

    return unit


def late_answer(operation_id: str, logs: list[dict[str, Any]]) -> Callable[..., Awaitable[None]]:
    """Log lines for an answer that came after the claim was lost: not fenced, since they
    only add to the operation's history."""

    async def unit(conn: AsyncConnection) -> None:
        store_logs(conn, logs)

    return unit

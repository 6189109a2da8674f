"""The Write API's engine: a synchronous write runs here from plan to answer; an asynchronous
one is accepted (its operation and job committed together) for a worker to run.

A synchronous write is a job too, claimed by this process from the start: the operation, the
job and attempt 1 are committed before the provider is called (intent before effect). If that
commit fails, nothing is sent and the caller is told to retry (503). If this process dies
mid-call, the job's lease runs out and a worker takes it over as an attempt whose outcome is
unknown. A call that gets no answer is recovered at once, in the same request: updates and
deletes are sent again, a create is looked for in the CRM first.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from writeback.connectors.credentials import NO_PROVIDER_APP
from writeback.connectors.http import TIMED_OUT
from writeback.operations.attempts import (
    RunningJob,
    attempt_row,
    finish,
    intent,
    late_answer,
    reschedule,
)
from writeback.operations.claims import (
    ClaimKeeper,
    ClaimLost,
    ClaimRef,
    held,
    release,
    utcnow,
)
from writeback.operations.queue import add_to_auto_batch, enqueue_write, job_row, unaccept
from writeback.operations.recording import (
    OUTCOME_UNKNOWN,
    attempt_outcome,
    make_log,
    operation_row,
    outcome_logs,
    outcome_metadata,
    plan_json,
    store_logs,
)
from writeback.store.committer import GroupCommitter
from writeback.store.deferred import defer_insert
from writeback.store.errors import StoreUnavailable
from writeback.store.tables import Operation, OperationAttempt, WriteJob, new_id
from writeback.writes.errors import CustomerMustReconnect, OutcomeUnknown, WriteNotAllowed
from writeback.writes.executor import PreparedWrite, Recovery, WriteExecutor
from writeback.writes.outcome import WriteOutcome, response_body
from writeback.writes.planning import PlannedRecord
from writeback.writes.request import WriteRequest

SYNC_DEADLINE_HOURS = 1  # a synchronous write taken over by a worker is retried this long
# Runs inside the transaction that first makes the operation durable (e.g. to tie an
# Idempotency-Key to the operation): with the operation id.
OperationHook = Callable[[AsyncConnection, str], Awaitable[None]]


@dataclass
class WriteReply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    operation_id: str | None = None


class Delivery:
    def __init__(
        self,
        executor: WriteExecutor,
        committer: GroupCommitter,
        keeper: ClaimKeeper,
        *,
        owner: str,
        autobatch_minute_seconds: float = 60.0,
        recovery_delay: float = 10.0,
    ) -> None:
        self.recovery_delay = recovery_delay
        self.executor = executor
        self.committer = committer
        self.keeper = keeper
        self.owner = owner
        self.autobatch_minute_seconds = autobatch_minute_seconds
        self.on_enqueued: Callable[[], None] = lambda: None  # the embedded worker's doorbell

    async def write(
        self,
        project_id: str,
        integration_ref: str,
        url_object: str,
        request: WriteRequest,
        *,
        on_operation: OperationHook | None = None,
    ) -> WriteReply:
        prepared = await self.executor.prepare(project_id, integration_ref, url_object, request)
        if request.mode == "asynchronous":
            operation_id = await self.accept(
                prepared, project_id, integration_ref, url_object, request, on_operation
            )
            return WriteReply(200, {"operationId": operation_id}, {}, operation_id)
        payload = {
            "projectId": project_id,
            "integrationRef": integration_ref,
            "objectName": url_object,
            "request": request.model_dump(mode="json", exclude_none=True),
        }
        return await SyncWrite(self, prepared, request, payload, on_operation).run(
            lambda: self.executor.prepare(project_id, integration_ref, url_object, request)
        )

    # --- asynchronous: accept now, a worker writes later ----------------------------

    async def accept(
        self,
        prepared: PreparedWrite,
        project_id: str,
        integration_ref: str,
        url_object: str,
        request: WriteRequest,
        on_operation: OperationHook | None = None,
    ) -> str:
        """Commit the operation and its job (or its auto-batch item); return the operation id.
        The request was validated and planned already, so what is queued can be executed."""
        target = prepared.target
        policy = request.autoBatchPolicy
        if policy is not None:
            assert request.record is not None

            async def batched(conn: AsyncConnection) -> str:
                operation_id = await add_to_auto_batch(
                    conn,
                    installation=target.installation,
                    config_id=target.config.id,
                    integration_ref=integration_ref,
                    url_object=url_object,
                    object_name=prepared.object_name,
                    write_type=request.type,
                    group_ref=request.groupRef,
                    record=request.record or {},
                    associations=request.associations,
                    max_delay_seconds=policy.maxDelayMinutes * self.autobatch_minute_seconds,
                    retry_deadline_hours=policy.retryDeadlineHours,
                )
                if on_operation is not None:
                    await on_operation(conn, operation_id)
                return operation_id

            operation_id = await self.committer.run(batched)
        else:
            operation_id = new_id()
            payload = {
                "projectId": project_id,
                "integrationRef": integration_ref,
                "objectName": url_object,
                "request": request.model_dump(mode="json", exclude_none=True),
            }
            deadline = request.retryPolicy.deadlineHours if request.retryPolicy else 1

            async def queued(conn: AsyncConnection) -> str:
                if on_operation is not None:
                    await on_operation(conn, operation_id)
                return await enqueue_write(
                    conn,
                    operation_id=operation_id,
                    installation=target.installation,
                    config_id=target.config.id,
                    object_name=prepared.object_name,
                    payload=payload,
                    deadline_hours=deadline,
                    record_count=len(prepared.records),
                )

            await self.committer.run(queued, on_abandon=unaccept(operation_id))
        self.on_enqueued()
        return operation_id


class SyncWrite:
    """One synchronous write, from its first intent to its answer."""

    def __init__(
        self,
        delivery: Delivery,
        prepared: PreparedWrite,
        request: WriteRequest,
        payload: dict[str, Any],
        on_operation: OperationHook | None = None,
    ) -> None:
        self.on_operation = on_operation
        self.delivery = delivery
        self.prepared = prepared
        self.request = request
        self.payload = payload
        self.operation_id = new_id()
        self.run_state: RunningJob | None = None
        self.logs: list[dict[str, Any]] = []

    async def run(self, replan: Callable[[], Any]) -> WriteReply:
        delivery = self.delivery
        try:
            outcome = await delivery.executor.execute(
                self.prepared, self.request, before_send=self._intent
            )
            failure = outcome.failure
            if failure is not None and failure.outcome_unknown and failure.code == TIMED_OUT:
                # the provider may still be working on it: a worker looks for it later
                await self._hand_over(outcome)
            if failure is not None and failure.outcome_unknown:
                # the connection was lost: the caller is waiting, so recover now, as attempt 2
                # (planned afresh: planning may have dropped fields from this one)
                assert self.run_state is not None and self.run_state.started_at is not None
                self.prepared = await replan()
                first_calls = outcome.provider_calls
                self.logs.append(
                    make_log(
                        self.operation_id,
                        "WARN",
                        f"attempt 1 got no answer ({outcome.failure.message}): it may or may"
                        " not have been written; attempt 2 checks before sending again",
                    )
                )
                try:
                    outcome = await delivery.executor.execute(
                        self.prepared,
                        self.request,
                        before_send=self._intent,
                        recovery=Recovery(1, self.run_state.started_at),
                        resend_unknown_creates=self.prepared.target.resend_unknown_creates,
                    )
                except StoreUnavailable as exc:
                    # attempt 1 may have written: that is not "nothing was sent"
                    raise self._unsettled(exc) from exc
                outcome.provider_calls += first_calls
            await self._record(outcome)
        except ClaimLost as exc:
            # this process's lease ran out (the database was away): a worker has the job now
            raise self._pending(
                "writeback lost track of this write while it ran (the database was away for"
                " longer than the job lease).",
                "a worker is completing it",
            ) from exc
        except Exception as exc:
            run = self.run_state
            if run is not None and not isinstance(exc, OutcomeUnknown):
                # the call may have happened: let a worker take the job over now, as an attempt
                # whose outcome is unknown, rather than after the lease
                delivery.committer.run_in_background(
                    lambda conn: release(
                        conn, [run.ref.token], started=True, delay=delivery.recovery_delay
                    )
                )
            raise
        finally:
            if self.run_state is not None:
                delivery.keeper.drop(self.run_state.ref)
        return self._reply(outcome)

    async def _intent(self, records: list[PlannedRecord]) -> None:
        """Before a call that can write: make the attempt durable, or send nothing."""
        plan = plan_json(self.prepared.object_name, self.request.type, records)
        delivery = self.delivery
        if self.run_state is None:
            run = RunningJob(
                ClaimRef(new_id(), f"sync:{secrets.token_hex(8)}", self.operation_id), number=1
            )
            await delivery.committer.run(self._open(run, plan), on_abandon=_abandon_sync(run))
            self.run_state = run
            delivery.keeper.hold(run.ref)
        else:
            run = self.run_state
            previous = run.number
            run.number, run.unknown_attempt, run.sent = previous + 1, previous, False
            if not await delivery.committer.run(intent(run, plan, delivery.owner)):
                raise ClaimLost(run.ref.job_id)
        run.sent = True

    def _open(self, run: RunningJob, plan: dict[str, Any]) -> Any:
        """The operation, its job (claimed by this process), and attempt 1, in one commit."""
        target, request = self.prepared.target, self.request
        moment = utcnow()
        job = job_row(
            self.operation_id, target.installation, "write", self.payload, moment,
            SYNC_DEADLINE_HOURS,
        )  # fmt: skip
        job.update(
            id=run.ref.job_id,
            status="running",
            attempts=1,
            claim_token=run.ref.token,
            lease_owner=self.delivery.owner[:64],
            lease_expires_at=moment + timedelta(seconds=self.delivery.keeper.lease_seconds),
            sending_attempt=1,
            unknown_since=moment,
        )
        operation = operation_row(
            self.operation_id,
            target,
            status="in_progress",
            result=f"[{self.prepared.object_name}] {request.type} in progress",
            metadata={
                "objects": [self.prepared.object_name],
                "writeType": request.type,
                "mode": "synchronous",
                "recordCount": len(self.prepared.records),
            },
        )

        async def unit(conn: AsyncConnection) -> None:
            defer_insert(conn, Operation.__table__, operation)  # type: ignore[arg-type]
            defer_insert(conn, WriteJob.__table__, job)  # type: ignore[arg-type]
            defer_insert(
                conn,
                OperationAttempt.__table__,  # type: ignore[arg-type]
                attempt_row(run, plan, self.delivery.owner, moment),
            )
            run.started_at = moment
            if self.on_operation is not None:
                await self.on_operation(conn, self.operation_id)

        return unit

    async def _record(self, outcome: WriteOutcome) -> None:
        """The operation's final record. When the provider was called, this must not be lost:
        the answer waits for it a while, then the commit goes on in the background."""
        prepared, request = self.prepared, self.request
        target = prepared.target
        status = "success" if outcome.succeeded else "failure"
        summary = outcome.summary(request.type, prepared.object_name)
        metadata = outcome_metadata(prepared.object_name, request, outcome)
        logs = self.logs + outcome_logs(self.operation_id, target, outcome, summary)
        working = target.connection.id if outcome.succeeded else None
        delivery = self.delivery
        run = self.run_state
        if run is None:  # no call that could write was made: a plain record, or a 503
            row = operation_row(
                self.operation_id, target, status=status, result=summary, metadata=metadata
            )

            async def plain(conn: AsyncConnection) -> None:
                defer_insert(conn, Operation.__table__, row)  # type: ignore[arg-type]
                if self.on_operation is not None:
                    await self.on_operation(conn, self.operation_id)
                store_logs(
                    conn,
                    logs,
                    installation_status=(target.installation.id, status),
                    connection_working=working,
                )

            await delivery.committer.run(plain)
        else:
            attempt_status = (
                "unknown"
                if outcome.outcome_unknown
                else "succeeded"
                if outcome.succeeded
                else "failed"
            )
            unit = finish(
                run,
                status=status,
                result=summary,
                metadata=metadata,
                logs=logs,
                attempt_status=attempt_status,
                attempt_outcome=attempt_outcome(outcome),
                installation_status=(target.installation.id, status),
                connection_working=working,
                unknown=outcome.unknown_count > 0,
            )
            await delivery.committer.wait_or_leave(self._finish(unit, outcome))
        if outcome.succeeded:
            delivery.executor.credentials.note_working(target.connection.id)

    async def _hand_over(self, outcome: WriteOutcome) -> None:
        """Queue the recovery for a worker, after the recovery delay, and tell the caller the
        outcome is unknown for now."""
        run = self.run_state
        assert run is not None and outcome.failure is not None
        delivery, prepared = self.delivery, self.prepared
        self.logs.append(
            make_log(
                self.operation_id,
                "WARN",
                f"attempt 1 got no answer ({outcome.failure.message}); the provider may still"
                f" be working on it: a worker checks in {delivery.recovery_delay:g}s",
            )
        )
        metadata = {
            "objects": [prepared.object_name],
            "writeType": self.request.type,
            "mode": "synchronous",
            "recordCount": len(prepared.records),
        }
        when = utcnow() + timedelta(seconds=delivery.recovery_delay)
        unit = reschedule(
            run,
            when=when,
            still_unknown=True,
            attempt_status="unknown",
            attempt_outcome=attempt_outcome(outcome),
            metadata=metadata,
            logs=self.logs,
        )
        await delivery.committer.run_until_done(unit)
        delivery.on_enqueued()
        raise self._pending(
            f"No answer from {prepared.target.provider} within the timeout: the write may or may"
            " not have happened, and the provider may still be working on it.",
            f"writeback looks for the record in {delivery.recovery_delay:g}s and finishes the"
            " operation",
        )

    def _unsettled(self, exc: StoreUnavailable) -> OutcomeUnknown:
        """Attempt 1 got no answer and the database went away before attempt 2 could be
        recorded: the job is given back for a worker to settle once the database is here."""
        run = self.run_state
        assert run is not None
        self.delivery.committer.run_in_background(
            lambda conn: release(
                conn, [run.ref.token], started=True, delay=self.delivery.recovery_delay
            )
        )
        return self._pending(
            f"No answer from {self.prepared.target.provider}, and the database is unavailable"
            f" ({exc.reason}): the write may or may not have happened.",
            "a worker settles it once the database is back",
        )

    def _pending(self, detail: str, settled_how: str) -> OutcomeUnknown:
        """An unknown outcome that writeback goes on settling: follow the operation."""
        project = self.prepared.target.installation.project_id
        return OutcomeUnknown(
            detail,
            remedy=f"Do not send it again: {settled_how}; GET /v1/projects/{project}/operations/"
            f"{self.operation_id} for the result.",
            context={"operationId": self.operation_id},
            code=OUTCOME_UNKNOWN,
        )

    async def _finish(self, unit: Any, outcome: WriteOutcome) -> None:
        """Commit the final record; if a worker took the job over meanwhile (this process lost
        its claim), only log what this attempt learnt."""
        committer = self.delivery.committer
        if await committer.run_until_done(unit):
            return
        late = make_log(
            self.operation_id,
            "WARN",
            "the synchronous attempt ended after a worker took the job over; its outcome was"
            f" answered to the caller but is not used here: {outcome.summary('write', '')}",
            successfulRecordIds=outcome.successful_ids,
        )
        await committer.run_until_done(late_answer(self.operation_id, [late]))

    def _reply(self, outcome: WriteOutcome) -> WriteReply:
        prepared, request = self.prepared, self.request
        provider = prepared.target.provider
        context = {"operationId": self.operation_id}
        failure = outcome.failure
        if outcome.outcome_unknown:
            creating = request.type == "create"
            raise OutcomeUnknown(
                f"The write may or may not have reached {provider}: the request was sent and no"
                " answer came"
                + (
                    "; writeback looked for the record and could not settle it, and did not"
                    " send it again."
                    if creating
                    else ", even when sent again."
                ),
                remedy=(
                    "Check the CRM for the record before writing it again; the operation's logs"
                    " say what was tried."
                    if creating
                    else "Send the same write again: an update or delete is safe to repeat."
                ),
                context=context,
                code=OUTCOME_UNKNOWN,
                retryable=not creating,
            )
        if failure is not None and failure.code == NO_PROVIDER_APP:
            raise WriteNotAllowed(
                f"Cannot refresh the customer's {provider} token: {failure.message}.",
                remedy=f"Create a {provider} provider app with the OAuth client the tokens were"
                " issued to (POST /v1/projects/{project}/provider-apps).",
                context=context,
            )
        if failure is not None and failure.error_class == "auth":
            raise CustomerMustReconnect(
                f"The customer's {provider} connection no longer works: {failure.message}",
                remedy=f"Ask the customer (group {request.groupRef!r}) to reconnect {provider};"
                " the connection is marked bad_credentials until then.",
                context={**context, "connectionId": prepared.target.connection.id},
            )
        status, body = response_body(self.operation_id, outcome)
        headers = {}
        if failure is not None and failure.retry_after is not None:
            headers["Retry-After"] = str(int(failure.retry_after + 0.999))
        return WriteReply(status, body, headers, self.operation_id)


def _abandon_sync(run: RunningJob) -> Any:
    """For a synchronous write whose first intent was not confirmed in time: the caller was
    told nothing was sent (503), and nothing was; if the intent committed after all, it is
    ended as such instead of being taken over."""

    async def unit(conn: AsyncConnection) -> None:
        ended = await conn.execute(
            update(WriteJob)
            .where(held(run.ref), WriteJob.sending_attempt == 1)
            .values(status="done", sending_attempt=None)
        )
        if ended.rowcount:
            await conn.execute(
                update(Operation)
                .where(Operation.id == run.operation_id)
                .values(
                    status="failure",
                    result="not sent: the database did not record the write's intent in time;"
                    " the caller was answered 503",
                    update_time=utcnow(),
                )
            )
            await conn.execute(
                update(OperationAttempt)
                .where(OperationAttempt.operation_id == run.operation_id)
                .values(status="not_sent", finished_at=utcnow())
            )

    return unit

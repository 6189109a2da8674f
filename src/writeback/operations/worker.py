"""The worker: claims due jobs fairly across connections, runs each attempt with its intent
recorded first, retries what can be retried until the deadline, recovers attempts whose
answer was lost, finishes operations, and sends completion webhooks.

Embedded mode runs one inside `writeback serve`; `writeback worker` runs more as their own
processes. Claims are fenced and renewed (operations/claims.py): a worker that lost its claim
changes nothing, and a job whose worker died is taken over when its lease runs out, with the
interrupted attempt's outcome treated as unknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from writeback.operations.attempts import (
    RunningJob,
    finish,
    intent,
    late_answer,
    reschedule,
    undo_intent,
)
from writeback.operations.claims import (
    ClaimKeeper,
    ClaimLost,
    ClaimRef,
    ConcurrencyCaps,
    claim_jobs,
    release,
    utcnow,
)
from writeback.operations.janitor import prune
from writeback.operations.queue import flush_due_batches
from writeback.operations.recording import (
    OUTCOME_UNKNOWN,
    attempt_outcome,
    failure_json,
    make_log,
    outcome_logs,
    outcome_metadata,
    plan_json,
)
from writeback.operations.retry import RetryPolicy
from writeback.store.committer import GroupCommitter
from writeback.store.errors import is_unavailable
from writeback.store.tables import (
    AutoBatch,
    AutoBatchItem,
    Consumer,
    Integration,
    OperationAttempt,
    Webhook,
)
from writeback.writes.errors import WriteError
from writeback.writes.executor import PreparedWrite, Recovery, WriteExecutor
from writeback.writes.outcome import WriteOutcome
from writeback.writes.planning import PlannedRecord
from writeback.writes.request import BatchItem, WriteRequest

log = logging.getLogger("writeback.worker")
PRUNE_EVERY_SECONDS = 3600.0


@dataclass(frozen=True)
class WorkerLimits:
    concurrency: int = 32  # jobs in flight in this worker
    max_attempts: int = 25  # claims of one job before it fails for good
    # calls in flight per connection, counted over every worker
    caps: ConcurrencyCaps = field(default_factory=ConcurrencyCaps)


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{random.getrandbits(32):08x}"


class Worker:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        committer: GroupCommitter,
        executor: WriteExecutor,
        keeper: ClaimKeeper,
        retry: RetryPolicy,
        poll_seconds: float,
        limits: WorkerLimits | None = None,
        deliverer: Any = None,
        keep_days: float = 7.0,
        recovery_delay: float = 10.0,
    ) -> None:
        self.recovery_delay = recovery_delay
        self.engine = engine
        self.committer = committer
        self.executor = executor
        self.keeper = keeper
        self.retry = retry
        self.poll_seconds = poll_seconds
        self.limits = limits or WorkerLimits()
        self.deliverer = deliverer
        self.keep_days = keep_days
        self.owner = worker_name()
        self.rng = random.Random()
        self.wake = asyncio.Event()
        self._running: dict[asyncio.Task[None], RunningJob] = {}
        self._cursor = ""  # the last connection served: the next round starts after it
        self._stopping = False
        self._last_prune = float("-inf")
        self._last_delivery = 0.0
        self._has_webhooks: dict[str, tuple[float, bool]] = {}  # project id → (until, answer)

    def poke(self) -> None:
        """A job was just queued in this process: look now instead of at the next poll."""
        self.wake.set()

    async def run_forever(self) -> None:
        while not self._stopping:
            try:
                busy = await self.run_once()
            except Exception as exc:
                # the database is away, most likely: say so once per round, briefly
                log.warning("worker round failed (%s); trying again", exc.__class__.__name__)
                busy = False
                await asyncio.sleep(self.poll_seconds)
            if self._stopping:
                break
            if len(self._running) >= self.limits.concurrency:
                # every slot is taken: wait for one to free rather than poll the database
                await asyncio.wait(set(self._running), return_when=asyncio.FIRST_COMPLETED)
            elif not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.poll_seconds)
                self.wake.clear()

    async def run_once(self) -> bool:
        """One round: flush due auto-batches, start due jobs, send due webhooks."""
        flushed = await self.committer.run(flush_due_batches)
        free = self.limits.concurrency - len(self._running)
        jobs: list[Any] = []
        if free > 0 and not self._stopping:
            # through the group committer: in this process every write to the database goes
            # through one writer, so claims never wait on SQLite's lock behind accepts
            jobs, self._cursor = await self.committer.run(
                lambda conn: claim_jobs(
                    conn,
                    worker=self.owner,
                    lease_seconds=self.keeper.lease_seconds,
                    limit=free,
                    caps=self.limits.caps,
                    after=self._cursor,
                )
            )
        for job in jobs:
            run = RunningJob(
                ClaimRef(job.id, job.claim_token, job.operation_id),
                number=job.attempts,
                unknown_attempt=job.sending_attempt,
                unknown_since=job.unknown_since,
            )
            self.keeper.hold(run.ref)
            task = asyncio.get_running_loop().create_task(self._guarded(job, run))
            self._running[task] = run
            task.add_done_callback(self._finished)
        delivered = 0
        moment = asyncio.get_running_loop().time()
        if moment - self._last_prune >= PRUNE_EVERY_SECONDS:
            self._last_prune = moment
            await self.committer.run(lambda conn: prune(conn, self.keep_days))
        if self.deliverer is not None and moment - self._last_delivery >= self.poll_seconds:
            self._last_delivery = moment
            delivered = await self.deliverer.deliver_due()
        return bool(flushed or jobs or delivered)

    def _finished(self, task: asyncio.Task[None]) -> None:
        run = self._running.pop(task, None)
        if run is not None and not task.cancelled():
            self.keeper.drop(run.ref)

    async def stop(self, drain_seconds: float) -> None:
        """Graceful shutdown: claim nothing more; let calls in flight finish for up to
        `drain_seconds`; then stop the rest and give every claim still held back at once (a
        call that was cut off keeps its attempt marked as sending, so whoever takes the job
        treats its outcome as unknown)."""
        self._stopping = True
        self.wake.set()
        if self._running:
            await asyncio.wait(set(self._running), timeout=drain_seconds)
        cut = dict(self._running)
        for task in cut:
            task.cancel()
        if cut:
            await asyncio.wait(set(cut), timeout=5)
        started = [r.ref.token for r in cut.values() if r.sent]
        unstarted = [r.ref.token for r in cut.values() if not r.sent]
        for tokens, was_started in ((started, True), (unstarted, False)):
            if tokens:
                with contextlib.suppress(Exception):
                    await self.committer.run(
                        lambda conn, t=tokens, s=was_started: release(  # type: ignore[misc]
                            conn, t, started=s, delay=self.recovery_delay if s else 0.0
                        ),
                        timeout=5,
                    )
        for run in cut.values():
            self.keeper.drop(run.ref)
        if cut:
            log.info("worker stopped: %d claims given back", len(cut))

    async def close(self) -> None:
        """Release what the worker holds open (the webhook deliverer's HTTP client); after
        `stop` and once its task has ended."""
        if self.deliverer is not None:
            await self.deliverer.close()

    async def _guarded(self, job: Any, run: RunningJob) -> None:
        try:
            await JobAttempt(self, job, run).run()
        except ClaimLost:
            log.warning("job %s: claim lost to another worker; this worker stopped", job.id)
        except Exception as exc:
            if not is_unavailable(exc):
                log.exception("job %s failed unexpectedly", job.id)
                await JobAttempt(self, job, run).crashed(exc)
                return
            # the database went away before the call (intent first), or between the call and
            # the next write: give the claim back once it is here, no traceback needed
            log.warning("job %s: database unavailable (%s)", job.id, exc.__class__.__name__)
            delay = self.recovery_delay if run.sent else 0.0
            self.committer.run_in_background(
                lambda conn: release(conn, [run.ref.token], started=run.sent, delay=delay)
            )

    # --- helpers shared by attempts --------------------------------------------------

    async def project_has_webhooks(self, conn: AsyncConnection, project_id: str) -> bool:
        """Cached for a few seconds: most projects have none, and asking costs a query."""
        moment = asyncio.get_running_loop().time()
        cached = self._has_webhooks.get(project_id)
        if cached is None or cached[0] < moment:
            found = await conn.execute(
                select(Webhook.id).where(Webhook.project_id == project_id, Webhook.active).limit(1)
            )
            cached = (moment + 5.0, found.first() is not None)
            self._has_webhooks[project_id] = cached
        return cached[1]


class JobAttempt:
    """One attempt of one claimed job, from the claim to its recorded outcome."""

    def __init__(self, worker: Worker, job: Any, run: RunningJob) -> None:
        self.worker = worker
        self.job = job
        self.run_state = run
        self.logs: list[dict[str, Any]] = []

    @property
    def operation_id(self) -> str:
        return str(self.job.operation_id)

    def log(self, severity: str, msg: str, **extra: Any) -> None:
        self.logs.append(make_log(self.operation_id, severity, msg, **extra))

    async def run(self) -> None:
        job, run = self.job, self.run_state
        recovery = None
        if run.unknown_attempt is not None:
            since = run.unknown_since or await self._attempt_start(run.unknown_attempt)
            recovery = Recovery(run.unknown_attempt, since or job.create_time)
            self.log(
                "WARN",
                f"attempt {run.unknown_attempt} got no answer (the connection was lost or its"
                " worker stopped mid-call): it may or may not have been written; attempt"
                f" {run.number} checks before sending anything again",
            )
        try:
            request, project_id, integration_ref, url_object = await self._request_of()
        except LookupError as exc:
            await self._give_up(None, None, f"cannot run the write: {exc}", recovery)
            return
        given_up = self._exhausted()
        if given_up is not None:
            await self._give_up(request, None, given_up, recovery)
            return
        try:
            prepared = await self.worker.executor.prepare(
                project_id, integration_ref, url_object, request
            )
        except WriteError as problem:
            await self._give_up(request, None, f"cannot run the write: {problem.detail}", recovery)
            return
        outcome = await self.worker.executor.execute(
            prepared,
            request,
            before_send=lambda records: self._intent(prepared, request, records),
            recovery=recovery,
            resend_unknown_creates=prepared.target.resend_unknown_creates
            or bool(job.payload.get("resendUnknown")),
        )
        await self._settle(prepared, request, outcome, recovery)

    def _attempts_made(self) -> int:
        """Attempts counted against the budget: a replay starts a new budget."""
        return int(self.job.attempts) - int(self.job.payload.get("attemptBase", 0))

    def _exhausted(self) -> str | None:
        job, limits = self.job, self.worker.limits
        if self._attempts_made() > limits.max_attempts:
            return f"giving up: {limits.max_attempts} attempts made"
        if utcnow() > job.deadline_at:
            return "giving up: the retry deadline has passed"
        return None

    async def _intent(
        self, prepared: PreparedWrite, request: WriteRequest, records: list[PlannedRecord]
    ) -> None:
        run = self.run_state
        unit = intent(
            run, plan_json(prepared.object_name, request.type, records), self.worker.owner
        )
        undo = undo_intent(run, run.unknown_attempt, run.unknown_since)
        if not await self.worker.committer.run(unit, on_abandon=undo):
            raise ClaimLost(self.job.id)
        run.sent = True

    async def _settle(
        self,
        prepared: PreparedWrite,
        request: WriteRequest,
        outcome: WriteOutcome,
        recovery: Recovery | None,
    ) -> None:
        """Finish the operation, or reschedule the job if the failure may pass."""
        failure = outcome.failure
        unknown_now = failure is not None and failure.outcome_unknown
        retry = (failure is not None and failure.retryable) or outcome.recheck
        if retry:
            when = self.worker.retry.next_attempt(
                utcnow(),
                self.run_state.number,
                failure.retry_after if failure else None,
                self.job.deadline_at,
                self.worker.rng,
            )
            if unknown_now and when is not None:
                # the provider may still be working on the request: look for it later
                when = max(when, utcnow() + timedelta(seconds=self.worker.recovery_delay))
                when = when if when <= self.job.deadline_at else None
            if when is not None and self._attempts_made() < self.worker.limits.max_attempts:
                reason = failure.message if failure else outcome.first_error()
                wait = (when - utcnow()).total_seconds()
                self.log(
                    "WARN",
                    f"attempt {self.run_state.number} failed, retrying in {wait:.1f}s: {reason}",
                )
                still_unknown = unknown_now or outcome.recheck or recovery is not None
                await self._record(
                    reschedule(
                        self.run_state,
                        when=when,
                        still_unknown=still_unknown,
                        attempt_status="unknown" if unknown_now else "retrying",
                        attempt_outcome=failure_json(failure) if failure else None,
                        metadata=self._retry_metadata(prepared, request),
                        logs=self.logs,
                    ),
                    outcome,
                )
                return
            self.log(
                "ERROR",
                f"giving up after attempt {self.run_state.number}: the retry deadline has passed",
            )
        await self._finish(prepared, request, outcome)

    async def _finish(
        self, prepared: PreparedWrite, request: WriteRequest, outcome: WriteOutcome
    ) -> None:
        target = prepared.target
        status = "success" if outcome.succeeded else "failure"
        summary = outcome.summary(request.type, prepared.object_name)
        metadata = {
            **self._batch_flag(),
            **outcome_metadata(prepared.object_name, request, outcome),
            "retry": self._retry_info(),
        }
        self.logs.extend(outcome_logs(self.operation_id, target, outcome, summary))
        errors = [e.message for r in outcome.results for e in r.errors]
        if outcome.failure is not None:
            errors.insert(0, outcome.failure.message)

        async def notify(conn: AsyncConnection) -> None:
            if request.mode == "asynchronous":
                await self._notify(conn, prepared, outcome, errors)

        attempt_status = (
            "unknown" if outcome.outcome_unknown else "succeeded" if outcome.succeeded else "failed"
        )
        await self._record(
            finish(
                self.run_state,
                status=status,
                result=summary,
                metadata=metadata,
                logs=self.logs,
                attempt_status=attempt_status,
                attempt_outcome=attempt_outcome(outcome),
                installation_status=(target.installation.id, status),
                connection_working=target.connection.id if outcome.succeeded else None,
                notify=notify,
                unknown=outcome.unknown_count > 0,
            ),
            outcome,
        )
        if outcome.succeeded:
            self.worker.executor.credentials.note_working(target.connection.id)

    async def _record(self, unit: Any, outcome: WriteOutcome | None) -> None:
        """Commit an outcome however long the database is away (the provider has acted). If
        the claim was lost meanwhile, the outcome is only logged, as a late answer."""
        if await self.worker.committer.run_until_done(unit):
            return
        late = [
            make_log(
                self.operation_id,
                "WARN",
                f"attempt {self.run_state.number} ended after another worker took the job over"
                " (this worker's lease ran out); its outcome is not used: "
                + (outcome.summary("write", "") if outcome else "no provider call"),
                successfulRecordIds=outcome.successful_ids if outcome else None,
            )
        ]
        await self.worker.committer.run_until_done(late_answer(self.operation_id, late))
        raise ClaimLost(self.job.id)

    async def _give_up(
        self,
        request: WriteRequest | None,
        prepared: PreparedWrite | None,
        message: str,
        recovery: Recovery | None,
    ) -> None:
        """The write cannot (or may no longer) run: end the operation as failed."""
        unknown = recovery is not None and (request is None or request.type == "create")
        if recovery is not None:
            message += (
                f"; attempt {recovery.attempt}'s outcome is unknown: check the CRM for its"
                " records before writing them again"
            )
        self.log("ERROR", message, error=OUTCOME_UNKNOWN if unknown else None)
        metadata: dict[str, Any] = {**self._batch_flag(), "retry": self._retry_info()}
        if request is not None:
            metadata.update(writeType=request.type, mode=request.mode)
        if unknown:
            metadata["errorCode"] = OUTCOME_UNKNOWN
        await self._record(
            finish(
                self.run_state,
                status="failure",
                result=message,
                metadata=metadata,
                logs=self.logs,
                attempt_status="failed",
                attempt_outcome={"message": message},
                installation_status=(self.job.installation_id, "failure"),
                unknown=recovery is not None,
            ),
            None,
        )

    async def crashed(self, exc: Exception) -> None:
        """An unexpected exception: retried with backoff like any failure, then failed. Only
        the class is recorded (the message may hold data or secrets)."""
        reason = f"unexpected {exc.__class__.__name__} in writeback (see the worker's log)"
        when = self.worker.retry.next_attempt(
            utcnow(), self.run_state.number, None, self.job.deadline_at, self.worker.rng
        )
        try:
            if when is not None and self._attempts_made() < self.worker.limits.max_attempts:
                self.log("ERROR", f"attempt {self.run_state.number} failed: {reason}; retrying")
                await self._record(
                    reschedule(
                        self.run_state,
                        when=when,
                        still_unknown=self.run_state.sent
                        or self.run_state.unknown_attempt is not None,
                        attempt_status="unknown" if self.run_state.sent else "failed",
                        attempt_outcome={"error": exc.__class__.__name__},
                        metadata={**self._batch_flag(), "retry": self._retry_info()},
                        logs=self.logs,
                    ),
                    None,
                )
            else:
                recovery = None
                if self.run_state.sent or self.run_state.unknown_attempt is not None:
                    recovery = Recovery(
                        self.run_state.unknown_attempt or self.run_state.number, utcnow()
                    )
                await self._give_up(None, None, f"giving up: {reason}", recovery)
        except ClaimLost:
            pass
        except Exception:
            log.exception("job %s: could not record an unexpected failure", self.job.id)

    # --- reading the job ---------------------------------------------------------------

    async def _request_of(self) -> tuple[WriteRequest, str, str, str]:
        job = self.job
        payload = job.payload
        if job.kind == "write":
            request = WriteRequest.model_validate(payload["request"])
            return request, payload["projectId"], payload["integrationRef"], payload["objectName"]
        async with self.worker.engine.connect() as conn:
            batch = (
                await conn.execute(select(AutoBatch).where(AutoBatch.id == payload["batchId"]))
            ).first()
            if batch is None:
                raise LookupError("its auto-batch was deleted")
            items = (
                await conn.execute(
                    select(AutoBatchItem)
                    .where(AutoBatchItem.batch_id == batch.id)
                    .order_by(AutoBatchItem.position)
                )
            ).all()
        request = WriteRequest(
            groupRef=batch.group_ref,
            type=batch.write_type,
            mode="asynchronous",
            batch=[BatchItem(record=i.record, associations=i.associations) for i in items],
        )
        return request, batch.project_id, batch.integration_ref, batch.object_name

    async def _attempt_start(self, number: int) -> datetime | None:
        async with self.worker.engine.connect() as conn:
            found = await conn.execute(
                select(OperationAttempt.started_at).where(
                    OperationAttempt.operation_id == self.operation_id,
                    OperationAttempt.number == number,
                )
            )
            return found.scalar_one_or_none()

    def _batch_flag(self) -> dict[str, Any]:
        return {"autoBatch": True} if self.job.kind == "autobatch" else {}

    def _retry_info(self) -> dict[str, Any]:
        return {"attempts": self.run_state.number, "lastAttempt": utcnow().isoformat()}

    def _retry_metadata(self, prepared: PreparedWrite, request: WriteRequest) -> dict[str, Any]:
        return {
            **self._batch_flag(),
            "objects": [prepared.object_name],
            "writeType": request.type,
            "mode": request.mode,
            "recordCount": len(prepared.records),
            "retry": self._retry_info(),
        }

    async def _notify(
        self,
        conn: AsyncConnection,
        prepared: PreparedWrite,
        outcome: WriteOutcome,
        errors: list[str],
    ) -> None:
        """`write.async.done` for the project's webhooks, in the finishing transaction."""
        target = prepared.target
        project_id = target.installation.project_id
        deliverer = self.worker.deliverer
        if deliverer is None or not await self.worker.project_has_webhooks(conn, project_id):
            return
        from writeback.operations.webhooks import enqueue_webhooks

        consumer = (
            await conn.execute(
                select(Consumer.consumer_ref, Consumer.consumer_name).where(
                    Consumer.id == target.connection.consumer_id
                )
            )
        ).first()
        integration_name = (
            await conn.execute(
                select(Integration.name).where(Integration.id == target.integration.id)
            )
        ).scalar_one_or_none()
        payload = {
            "operationId": self.operation_id,
            "projectId": project_id,
            "provider": target.provider,
            "integrationId": target.integration.id,
            "integrationName": integration_name,
            "installationId": target.installation.id,
            "connectionId": target.connection.id,
            "groupRef": target.group.group_ref,
            "groupName": target.group.group_name,
            "consumerRef": consumer[0] if consumer else None,
            "consumerName": consumer[1] if consumer else None,
            "objectName": prepared.object_name,
            "success": outcome.success_count == len(outcome.results) and outcome.succeeded,
            "successfulRecordIds": outcome.successful_ids,
            "errors": errors,
        }
        if outcome.outcome_unknown:
            payload["errorCode"] = OUTCOME_UNKNOWN
        await enqueue_webhooks(conn, project_id, "write.async.done", payload, self.operation_id)

"""The worker: runs queued asynchronous writes and auto-batches, retries what can be retried
until the deadline, finishes operations, and sends completion webhooks.

Embedded mode runs one inside `writeback serve`; `writeback worker` runs more as their own
processes (PostgreSQL). Jobs are leased: a worker that dies loses its lease and another takes
the job over; the operation log then says the interrupted attempt may have reached the provider.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from writeback.api.problems import ApiProblem
from writeback.operations.committer import GroupCommitter
from writeback.operations.janitor import prune
from writeback.operations.queue import claim_jobs, flush_due_batches
from writeback.operations.recorder import store_logs_and_statuses
from writeback.operations.retry import RetryPolicy
from writeback.store.tables import (
    AutoBatch,
    AutoBatchItem,
    Consumer,
    Integration,
    Operation,
    Webhook,
    WriteJob,
)
from writeback.writes.executor import PreparedWrite, WriteService
from writeback.writes.outcome import WriteOutcome
from writeback.writes.recording import make_log, outcome_logs, outcome_metadata
from writeback.writes.request import BatchItem, WriteRequest

OperationTable = Operation.__table__
log = logging.getLogger("writeback.worker")
CONCURRENCY = 32
PRUNE_EVERY_SECONDS = 3600.0


def utcnow() -> datetime:
    return datetime.now(UTC)


class Worker:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        committer: GroupCommitter,
        writes: WriteService,
        retry: RetryPolicy,
        lease_seconds: float,
        poll_seconds: float,
        deliverer: Any = None,
        keep_days: float = 7.0,
    ) -> None:
        self.keep_days = keep_days
        self._last_prune = float("-inf")
        self.engine = engine
        self.committer = committer
        self.writes = writes
        self.retry = retry
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.deliverer = deliverer
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{random.getrandbits(32):08x}"
        self.rng = random.Random()
        self.wake = asyncio.Event()
        self._slots = asyncio.Semaphore(CONCURRENCY)
        self._running: set[asyncio.Task[None]] = set()
        self._last_delivery = 0.0
        self._has_webhooks: dict[str, tuple[float, bool]] = {}  # project id → (until, answer)

    def poke(self) -> None:
        """A job was just queued in this process: look now instead of at the next poll."""
        self.wake.set()

    async def run_forever(self) -> None:
        while True:
            try:
                busy = await self.run_once()
            except Exception:
                log.exception("worker loop error; continuing")
                busy = False
            if len(self._running) >= CONCURRENCY:
                # every slot is taken: wait for one to free rather than poll the database
                await asyncio.wait(set(self._running), return_when=asyncio.FIRST_COMPLETED)
            elif not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.poll_seconds)
                self.wake.clear()

    async def run_once(self) -> bool:
        """One round: flush due auto-batches, start due jobs, send due webhooks."""
        flushed = await self.committer.run(flush_due_batches)
        free = CONCURRENCY - len(self._running)
        jobs: list[Any] = []
        if free > 0:
            # through the group committer: in this process every write to the database goes
            # through one writer, so claims never wait on SQLite's lock behind accepts
            jobs = await self.committer.run(
                lambda conn: claim_jobs(conn, self.owner, self.lease_seconds, free)
            )
        for job in jobs:
            task = asyncio.get_running_loop().create_task(self._guarded(job))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        delivered = 0
        moment = asyncio.get_running_loop().time()
        if moment - self._last_prune >= PRUNE_EVERY_SECONDS:
            self._last_prune = moment
            await self.committer.run(lambda conn: prune(conn, self.keep_days))
        if self.deliverer is not None and moment - self._last_delivery >= self.poll_seconds:
            self._last_delivery = moment
            delivered = await self.deliverer.deliver_due()
        return bool(flushed or jobs or delivered)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for the jobs this worker started (tests and shutdown)."""
        if self._running:
            await asyncio.wait(set(self._running), timeout=timeout)

    async def _guarded(self, job: Any) -> None:
        async with self._slots:
            try:
                await self._run_job(job)
            except Exception:
                # the lease runs out and another round takes the job over
                log.exception("job %s failed unexpectedly", job.id)

    # --- one job -------------------------------------------------------------------

    async def _run_job(self, job: Any) -> None:
        # attempts that ended (failed and rescheduled) are counted in the job's payload; a
        # claim counts one more, so a gap means an attempt died with its worker
        finished_attempts = int(job.payload.get("finishedAttempts", 0))
        metadata: dict[str, Any] = {"autoBatch": True} if job.kind == "autobatch" else {}
        logs = []
        if job.attempts - 1 > finished_attempts:
            logs.append(
                make_log(
                    job.operation_id,
                    "WARN",
                    f"attempt {finished_attempts + 1} was interrupted (its worker stopped);"
                    " if it had reached the provider, its records may be written twice",
                )
            )
        try:
            request, project_id, integration_ref, url_object = await self._request_of(job)
            prepared = await self.writes.prepare(project_id, integration_ref, url_object, request)
        except ApiProblem as problem:
            await self._fail_unrunnable(job, metadata, logs, problem)
            return
        outcome = await self.writes.execute(prepared, request)
        attempt = job.attempts
        failure = outcome.failure
        if failure is not None and failure.retryable:
            when = self.retry.next_attempt(
                utcnow(), attempt, failure.retry_after, job.deadline_at, self.rng
            )
            if when is not None:
                metadata.update(
                    objects=[prepared.object_name],
                    writeType=request.type,
                    mode="asynchronous",
                    recordCount=len(prepared.records),
                )
                await self._retry_later(job, metadata, logs, attempt, when, failure.message)
                return
            logs.append(
                make_log(
                    job.operation_id,
                    "ERROR",
                    f"giving up after attempt {attempt}: the retry deadline has passed",
                )
            )
        await self._finish(job, prepared, request, outcome, metadata, logs, attempt)

    async def _request_of(self, job: Any) -> tuple[WriteRequest, str, str, str]:
        payload = job.payload
        if job.kind == "write":
            request = WriteRequest.model_validate(payload["request"])
            return request, payload["projectId"], payload["integrationRef"], payload["objectName"]
        async with self.engine.connect() as conn:
            batch = (
                await conn.execute(select(AutoBatch).where(AutoBatch.id == payload["batchId"]))
            ).one()
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

    async def _retry_later(
        self,
        job: Any,
        metadata: dict[str, Any],
        logs: list[dict[str, Any]],
        attempt: int,
        when: datetime,
        reason: str,
    ) -> None:
        wait = (when - utcnow()).total_seconds()
        logs.append(
            make_log(
                job.operation_id,
                "WARN",
                f"attempt {attempt} failed, retrying in {wait:.1f}s: {reason}",
            )
        )
        metadata["retry"] = {"attempts": attempt, "lastAttempt": utcnow().isoformat()}

        async def unit(conn: AsyncConnection) -> None:
            await conn.execute(
                update(WriteJob)
                .where(WriteJob.id == job.id, WriteJob.lease_owner == self.owner)
                .values(
                    status="queued",
                    next_attempt_at=when,
                    lease_owner=None,
                    payload={**job.payload, "finishedAttempts": attempt},
                )
            )
            await conn.execute(
                update(OperationTable)
                .where(OperationTable.c.id == job.operation_id)
                .values(metadata=metadata)
            )
            store_logs_and_statuses(conn, logs)

        await self.committer.run(unit)

    async def _fail_unrunnable(
        self, job: Any, metadata: dict[str, Any], logs: list[dict[str, Any]], problem: ApiProblem
    ) -> None:
        """The write can no longer run (installation gone, object disabled...): fail it."""
        message = f"cannot run the write: {problem.detail}"
        logs.append(make_log(job.operation_id, "ERROR", message))
        metadata["retry"] = {"attempts": job.attempts, "lastAttempt": utcnow().isoformat()}

        async def unit(conn: AsyncConnection) -> None:
            await conn.execute(
                update(OperationTable)
                .where(OperationTable.c.id == job.operation_id)
                .values(status="failure", result=message, metadata=metadata)
            )
            await conn.execute(update(WriteJob).where(WriteJob.id == job.id).values(status="done"))
            store_logs_and_statuses(
                conn, logs, installation_status=(job.installation_id, "failure")
            )

        await self.committer.run(unit)

    async def _finish(
        self,
        job: Any,
        prepared: PreparedWrite,
        request: WriteRequest,
        outcome: WriteOutcome,
        metadata: dict[str, Any],
        logs: list[dict[str, Any]],
        attempt: int,
    ) -> None:
        target = prepared.target
        status = "success" if outcome.succeeded else "failure"
        summary = outcome.summary(request.type, prepared.object_name)
        new_metadata = {
            **metadata,
            **outcome_metadata(prepared.object_name, request, outcome),
            "mode": "asynchronous",
            "retry": {"attempts": attempt, "lastAttempt": utcnow().isoformat()},
        }
        logs.extend(outcome_logs(job.operation_id, target, outcome, summary))
        errors = [e.message for r in outcome.results for e in r.errors]
        if outcome.failure is not None:
            errors.insert(0, outcome.failure.message)

        async def unit(conn: AsyncConnection) -> None:
            await conn.execute(
                update(OperationTable)
                .where(OperationTable.c.id == job.operation_id)
                .values(status=status, result=summary, metadata=new_metadata, update_time=utcnow())
            )
            await conn.execute(update(WriteJob).where(WriteJob.id == job.id).values(status="done"))
            store_logs_and_statuses(
                conn,
                logs,
                installation_status=(target.installation.id, status),
                connection_working=target.connection.id if outcome.succeeded else None,
            )
            await self._notify(conn, job, prepared, outcome, errors)

        await self.committer.run(unit)
        if outcome.succeeded:
            self.writes.credentials.note_working(target.connection.id)

    async def _project_has_webhooks(self, conn: AsyncConnection, project_id: str) -> bool:
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

    async def _notify(
        self,
        conn: AsyncConnection,
        job: Any,
        prepared: PreparedWrite,
        outcome: WriteOutcome,
        errors: list[str],
    ) -> None:
        """`write.async.done` for the project's webhooks, in the finishing transaction."""
        if self.deliverer is None or not await self._project_has_webhooks(
            conn, prepared.target.installation.project_id
        ):
            return
        from writeback.operations.webhooks import enqueue_webhooks

        target = prepared.target
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
            "operationId": job.operation_id,
            "projectId": target.installation.project_id,
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
        await enqueue_webhooks(
            conn, target.installation.project_id, "write.async.done", payload, job.operation_id
        )

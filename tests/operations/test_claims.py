"""Claims are fenced: once another worker took a job over, the first one can change nothing.
Run against a real database file and a real PostgreSQL, through the same units the worker uses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from conftest import BACKENDS, database_url
from writeback.operations.attempts import RunningJob, finish, intent, reschedule
from writeback.operations.claims import ClaimRef, ConcurrencyCaps, claim_jobs, release, utcnow
from writeback.store.committer import GroupCommitter
from writeback.store.engine import create_engine
from writeback.store.migrate import upgrade_to_head
from writeback.store.tables import (
    Connection,
    Consumer,
    Group,
    Installation,
    Integration,
    Operation,
    OperationAttempt,
    Project,
    WriteJob,
    new_id,
)

CAPS = ConcurrencyCaps()
# the engine fixture and the tests share one event loop (asyncpg connections belong to one)
pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url(request.param, tmp_path, "writeback_claims")


@pytest.fixture
async def engine(url: str) -> AsyncIterator[AsyncEngine]:
    made = create_engine(url)
    await upgrade_to_head(made)
    yield made
    await made.dispose()


async def queued_job(engine: AsyncEngine) -> tuple[str, str]:
    """A project, installation, operation and queued job: (job id, operation id)."""
    project, integration, group, consumer, connection = (new_id() for _ in range(5))
    installation, operation, job = new_id(), new_id(), new_id()
    moment = utcnow()
    owned = {"project_id": project}
    rows: list[tuple[Any, dict[str, Any]]] = [
        (Project, {"id": project, "name": project[:8], "app_name": "a", "settings": {}}),
        (Integration, {"id": integration, **owned, "name": "i", "provider": "hubspot"}),
        (Group, {"id": group, **owned, "group_ref": "g", "group_name": "g"}),
        (Consumer, {"id": consumer, **owned, "consumer_ref": "c", "consumer_name": "c"}),
        (
            Connection,
            {
                "id": connection,
                **owned,
                "provider": "hubspot",
                "group_id": group,
                "consumer_id": consumer,
                "auth_scheme": "oauth2/authorizationCode",
                "credentials_encrypted": "x",
            },
        ),
        (
            Installation,
            {
                "id": installation,
                **owned,
                "integration_id": integration,
                "group_id": group,
                "connection_id": connection,
                "created_by": "test",
            },
        ),
        (
            Operation,
            {
                "id": operation,
                **owned,
                "integration_id": integration,
                "installation_id": installation,
                "action_type": "write",
                "status": "in_progress",
                "result": "accepted",
            },
        ),
        (
            WriteJob,
            {
                "id": job,
                **owned,
                "operation_id": operation,
                "installation_id": installation,
                "connection_id": connection,
                "kind": "write",
                "payload": {},
                "next_attempt_at": moment,
                "deadline_at": moment + timedelta(hours=1),
            },
        ),
    ]
    async with engine.begin() as conn:
        for table, row in rows:
            await conn.execute(insert(table), [row])
    return job, operation


async def claim(committer: GroupCommitter, worker: str) -> Any:
    rows, _ = await committer.run(
        lambda conn: claim_jobs(conn, worker=worker, lease_seconds=60, limit=10, caps=CAPS)
    )
    assert len(rows) == 1
    return rows[0]


async def job_row(engine: AsyncEngine, job_id: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(select(WriteJob).where(WriteJob.id == job_id))).one()


async def test_a_worker_that_lost_its_claim_can_change_nothing(engine: AsyncEngine) -> None:
    committer = GroupCommitter(engine)
    job_id, operation_id = await queued_job(engine)
    first = await claim(committer, "worker-a")
    # worker A is paused past its lease; worker B takes the job over
    async with engine.begin() as conn:
        await conn.execute(
            update(WriteJob)
            .where(WriteJob.id == job_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    second = await claim(committer, "worker-b")
    assert second.claim_token != first.claim_token and second.attempts == 2
    stale = RunningJob(ClaimRef(job_id, first.claim_token, operation_id), number=1, sent=True)
    plan = {"object": "companies", "type": "create", "records": []}
    assert await committer.run(intent(stale, plan, "worker-a")) is False
    assert (
        await committer.run(
            reschedule(
                stale,
                when=utcnow(),
                still_unknown=False,
                attempt_status="retrying",
                attempt_outcome=None,
                metadata={"stale": True},
                logs=[],
            )
        )
        is False
    )
    finished = finish(
        stale,
        status="success",
        result="stale",
        metadata={},
        logs=[],
        attempt_status="succeeded",
        attempt_outcome=None,
    )
    assert await committer.run(finished) is False
    assert await committer.run(lambda c: release(c, [first.claim_token], started=True)) == 0
    row = await job_row(engine, job_id)
    assert (row.status, row.claim_token, row.lease_owner) == (
        "running",
        second.claim_token,
        "worker-b",
    )
    async with engine.connect() as conn:
        operation = (
            await conn.execute(select(Operation).where(Operation.id == operation_id))
        ).one()
        attempts = (await conn.execute(select(OperationAttempt))).all()
    assert operation.status == "in_progress" and operation.result == "accepted"
    assert attempts == []  # not even its intent was recorded
    # the holder's changes go through
    current = RunningJob(ClaimRef(job_id, second.claim_token, operation_id), number=2)
    assert await committer.run(intent(current, plan, "worker-b")) is True
    assert (await job_row(engine, job_id)).sending_attempt == 2
    await committer.close()


async def test_renewal_keeps_a_claim_and_notices_a_lost_one(engine: AsyncEngine) -> None:
    from writeback.operations.claims import renew

    committer = GroupCommitter(engine)
    job_id, _ = await queued_job(engine)
    held = await claim(committer, "worker-a")
    before = (await job_row(engine, job_id)).lease_expires_at
    await asyncio.sleep(0.01)
    gone = await committer.run(lambda c: renew(c, [held.claim_token, "not-a-claim"], 60))
    assert gone == {"not-a-claim"}
    assert (await job_row(engine, job_id)).lease_expires_at > before
    await committer.close()

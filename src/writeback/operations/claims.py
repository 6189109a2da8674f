"""Claims on jobs: which worker runs a job, fenced so that only the current holder can change it.

Every claim gets its own token. Every later change of the job (recording an attempt,
rescheduling, finishing, releasing) is conditional on `claim_token` still being the one the
worker got, so a worker whose lease ran out (it was paused, the database was away) can change
nothing once another worker took the job over. Leases are renewed while calls are in flight
(`ClaimKeeper`), so a slow provider never makes a job look abandoned.

Claims rotate across connections: each round takes the due connections ("lanes") after the
last one served, a share of the free slots each, never more than a connection's concurrency
cap (counted over every worker). One customer's backlog cannot hold back another's write for
more than a round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    String,
    and_,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from writeback.store.committer import GroupCommitter
from writeback.store.tables import Connection, UtcDateTime, WriteJob

log = logging.getLogger("writeback.worker")


def utcnow() -> datetime:
    return datetime.now(UTC)


class ClaimLost(Exception):
    """Another worker holds the job now; this one may change nothing about it."""


@dataclass(frozen=True)
class ClaimRef:
    job_id: str
    token: str
    operation_id: str


def held(ref: ClaimRef) -> Any:
    """The condition every change of a claimed job carries: the claim is still ours."""
    return and_(
        WriteJob.id == ref.job_id, WriteJob.claim_token == ref.token, WriteJob.status == "running"
    )


@dataclass(frozen=True)
class ConcurrencyCaps:
    """How many calls may be in flight at once for one connection, across every worker."""

    default: int = 8
    per_provider: dict[str, int] = field(default_factory=lambda: {"salesforce": 16, "hubspot": 8})

    def of(self, provider: str | None) -> int:
        return self.per_provider.get(provider or "", self.default)


_LANES = """
WITH RECURSIVE lane(cid) AS (
  SELECT (SELECT min(connection_id) FROM write_job
          WHERE status = 'queued' AND next_attempt_at <= :now AND connection_id > :after)
  UNION ALL
  SELECT (SELECT min(connection_id) FROM write_job
          WHERE status = 'queued' AND next_attempt_at <= :now AND connection_id > lane.cid)
  FROM lane WHERE lane.cid IS NOT NULL {inner_limit}
)
SELECT cid FROM lane WHERE cid IS NOT NULL LIMIT :n
"""


async def _due_lanes(conn: AsyncConnection, moment: datetime, after: str, n: int) -> list[str]:
    """Up to `n` connections with due queued jobs, in id order after `after` (then wrapping):
    a loose index scan, one index seek per connection however deep its backlog."""
    # SQLite stops the recursion only at a LIMIT inside the CTE; PostgreSQL evaluates it
    # lazily for the outer LIMIT and refuses one inside
    inner = "LIMIT :n" if conn.dialect.name == "sqlite" else ""
    query = text(_LANES.format(inner_limit=inner)).bindparams(
        bindparam("now", type_=UtcDateTime), bindparam("after", type_=String)
    )
    found = list((await conn.execute(query, {"now": moment, "after": after, "n": n})).scalars())
    if len(found) < n and after:
        more = await conn.execute(query, {"now": moment, "after": "", "n": n - len(found)})
        found += [cid for cid in more.scalars() if cid not in found]
    return [str(cid) for cid in found]


async def _lock_lanes(conn: AsyncConnection, lanes: list[str]) -> list[str]:
    """PostgreSQL: lanes no other worker is claiming from right now (a transaction-scoped
    advisory lock each), so running counts read next are exact when capping."""
    if conn.dialect.name != "postgresql":
        return lanes  # SQLite: one writer at a time already
    free = []
    for lane in lanes:
        key = func.hashtext(literal(f"wb-lane:{lane}", String))
        if (await conn.execute(select(func.pg_try_advisory_xact_lock(key)))).scalar():
            free.append(lane)
    return free


async def _running_and_caps(
    conn: AsyncConnection, lanes: list[str], caps: ConcurrencyCaps
) -> dict[str, int]:
    """Per lane: how many more of its jobs may run now."""
    running = dict(
        (
            await conn.execute(
                select(WriteJob.connection_id, func.count())
                .where(WriteJob.status == "running", WriteJob.connection_id.in_(lanes))
                .group_by(WriteJob.connection_id)
            )
        ).all()
    )
    providers = dict(
        (
            await conn.execute(
                select(Connection.id, Connection.provider).where(Connection.id.in_(lanes))
            )
        ).all()
    )
    return {lane: caps.of(providers.get(lane)) - int(running.get(lane, 0)) for lane in lanes}


async def claim_jobs(
    conn: AsyncConnection,
    *,
    worker: str,
    lease_seconds: float,
    limit: int,
    caps: ConcurrencyCaps,
    after: str = "",
) -> tuple[list[Any], str]:
    """Claim up to `limit` jobs: first those whose worker's lease ran out (taken over), then
    due jobs, a fair share per connection. Returns the claimed rows and the cursor to start
    the next round after."""
    moment = utcnow()
    postgres = conn.dialect.name == "postgresql"
    abandoned = (
        select(WriteJob.id)
        .where(WriteJob.status == "running", WriteJob.lease_expires_at < moment)
        .order_by(WriteJob.lease_expires_at)
        .limit(limit)
    )
    if postgres:
        abandoned = abandoned.with_for_update(skip_locked=True)
    ids = list((await conn.execute(abandoned)).scalars())
    cursor = after
    free = limit - len(ids)
    if free > 0:
        lanes = await _lock_lanes(conn, await _due_lanes(conn, moment, after, free))
        room = await _running_and_caps(conn, lanes, caps) if lanes else {}
        share = math.ceil(free / len(lanes)) if lanes else 0
        for lane in lanes:
            quota = min(share, room[lane], limit - len(ids))
            if quota <= 0:
                continue
            due = (
                select(WriteJob.id)
                .where(
                    WriteJob.status == "queued",
                    WriteJob.connection_id == lane,
                    WriteJob.next_attempt_at <= moment,
                )
                .order_by(WriteJob.next_attempt_at)
                .limit(quota)
            )
            if postgres:
                due = due.with_for_update(skip_locked=True)
            ids += list((await conn.execute(due)).scalars())
            cursor = lane
    if not ids:
        return [], cursor
    # unique per claim: this round's random prefix, the job, and its claim count
    prefix = literal(secrets.token_hex(6) + ":", String)
    claimed = await conn.execute(
        update(WriteJob)
        .where(
            WriteJob.id.in_(ids),
            or_(
                WriteJob.status == "queued",
                and_(WriteJob.status == "running", WriteJob.lease_expires_at < moment),
            ),
        )
        .values(
            status="running",
            claim_token=prefix + WriteJob.id + ":" + cast(WriteJob.attempts + 1, String),
            lease_owner=worker[:64],
            lease_expires_at=moment + timedelta(seconds=lease_seconds),
            attempts=WriteJob.attempts + 1,
            update_time=moment,
        )
        .returning(WriteJob)
        .execution_options(synchronize_session=False)
    )
    return list(claimed.all()), cursor


async def renew(conn: AsyncConnection, tokens: Sequence[str], lease_seconds: float) -> set[str]:
    """Extend the leases of `tokens`; returns the tokens that are no longer held."""
    until = utcnow() + timedelta(seconds=lease_seconds)
    result = await conn.execute(
        update(WriteJob)
        .where(WriteJob.claim_token.in_(tokens), WriteJob.status == "running")
        .values(lease_expires_at=until)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == len(tokens):
        return set()
    still = await conn.execute(
        select(WriteJob.claim_token).where(
            WriteJob.claim_token.in_(tokens), WriteJob.status == "running"
        )
    )
    return set(tokens) - set(still.scalars())


async def release(
    conn: AsyncConnection, tokens: Sequence[str], *, started: bool, delay: float = 0.0
) -> int:
    """Give claims back so another worker takes them (after `delay` seconds) instead of after
    the lease. A claim whose attempt never started does not count as an attempt; one that did
    keeps `sending_attempt`, so whoever takes it treats that attempt's outcome as unknown."""
    values: dict[str, Any] = {
        "status": "queued",
        "claim_token": None,
        "lease_owner": None,
        "lease_expires_at": None,
        "next_attempt_at": utcnow() + timedelta(seconds=delay),
    }
    if not started:
        values["attempts"] = WriteJob.attempts - 1
    result = await conn.execute(
        update(WriteJob)
        .where(WriteJob.claim_token.in_(tokens), WriteJob.status == "running")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)


class ClaimKeeper:
    """Renews the leases of the claims this process holds, every third of a lease, for as
    long as they are held; notes claims found taken over."""

    def __init__(self, committer: GroupCommitter, lease_seconds: float) -> None:
        self.committer = committer
        self.lease_seconds = lease_seconds
        self._held: dict[str, ClaimRef] = {}
        self.lost: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    def hold(self, ref: ClaimRef) -> None:
        self._held[ref.token] = ref
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._renew_forever())

    def drop(self, ref: ClaimRef) -> None:
        self._held.pop(ref.token, None)
        self.lost.discard(ref.token)

    def holding(self) -> list[ClaimRef]:
        return list(self._held.values())

    async def _renew_forever(self) -> None:
        interval = max(0.05, self.lease_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            tokens = list(self._held)
            if not tokens:
                continue
            try:
                gone = await self.committer.run(
                    lambda conn, t=tokens: renew(conn, t, self.lease_seconds),  # type: ignore[misc]
                    timeout=interval,
                )
            except Exception as exc:  # the database is away: try again next time
                log.warning("could not renew %d job leases: %s", len(tokens), exc)
                continue
            for token in gone & set(self._held):
                log.warning(
                    "lost the claim on job %s: another worker took it over",
                    self._held[token].job_id,
                )
                self.lost.add(token)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

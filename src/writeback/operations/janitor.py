"""Keeping the queue tables small: finished jobs, auto-batches and webhook deliveries are
deleted some days after they ended, Idempotency-Keys once they expired. Operations and their
logs are kept: they are the record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.ext.asyncio import AsyncConnection

from writeback.store.tables import AutoBatch, IdempotencyKey, WebhookDelivery, WriteJob


async def prune(conn: AsyncConnection, keep_days: float) -> dict[str, int]:
    """Delete what ended more than `keep_days` ago and the Idempotency-Keys that expired;
    returns how many rows of each kind."""
    cutoff = datetime.now(UTC) - timedelta(days=keep_days)
    jobs = await conn.execute(
        delete(WriteJob).where(
            WriteJob.status == "done",
            WriteJob.create_time < cutoff,
        )
    )
    # A closed batch's job finished within its retry deadline (48 h at most), so a closed
    # batch older than both the cutoff and two days has nothing left to run.
    batch_cutoff = min(cutoff, datetime.now(UTC) - timedelta(days=2))
    batches = await conn.execute(
        delete(AutoBatch).where(AutoBatch.open.is_(False), AutoBatch.create_time < batch_cutoff)
    )
    deliveries = await conn.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.status.in_(("delivered", "failed")),
            WebhookDelivery.create_time < cutoff,
        )
    )
    # Idempotency-Keys are forgotten at their own `expires_at` (idempotency_hours after first
    # use), unless a request still holds one (running, lease not over).
    now = datetime.now(UTC)
    keys = await conn.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.expires_at < now,
            or_(
                IdempotencyKey.status != "running",
                IdempotencyKey.lease_expires_at.is_(None),
                IdempotencyKey.lease_expires_at < now,
            ),
        )
    )
    return {
        "jobs": int(jobs.rowcount or 0),
        "autoBatches": int(batches.rowcount or 0),
        "deliveries": int(deliveries.rowcount or 0),
        "idempotencyKeys": int(keys.rowcount or 0),
    }

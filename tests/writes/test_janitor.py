"""Finished jobs, batches and deliveries are pruned; operations (the record) stay."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, update

from conftest import Sandbox, Server
from writeback.operations.janitor import prune
from writeback.store.engine import create_engine
from writeback.store.tables import AutoBatch, WebhookDelivery, WriteJob, new_id
from writes.write_support import new_customer


def wait_done(customer, operation_id: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 20
    while customer.operation(operation_id)["status"] == "in_progress":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_prune_keeps_operations_and_unfinished_work(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "hubspot")
    single = customer.write(
        "companies", {"type": "create", "mode": "asynchronous", "record": {"name": "a"}}
    ).json()["operationId"]
    batched = customer.write(
        "companies",
        {
            "type": "create",
            "mode": "asynchronous",
            "autoBatchPolicy": {"maxDelayMinutes": 1},
            "record": {"name": "b"},
        },
    ).json()["operationId"]
    wait_done(customer, single)
    wait_done(customer, batched)
    webhook = customer.api.post(f"{customer.p}/webhooks", json={"url": "http://127.0.0.1:9/"})
    webhook_id = webhook.json()["id"]

    async def run() -> tuple[dict[str, int], int, int, int]:
        engine = create_engine(stack.settings.database_url)
        old = datetime.now(UTC) - timedelta(days=30)
        async with engine.begin() as conn:
            for status in ("delivered", "pending"):
                await conn.execute(
                    insert(WebhookDelivery.__table__),
                    [
                        {
                            "id": new_id(),
                            "webhook_id": webhook_id,
                            "operation_id": None,
                            "event": "write.async.done",
                            "payload": {},
                            "status": status,
                            "attempts": 1,
                            "next_attempt_at": old + timedelta(days=3650),
                            "create_time": old,
                        }
                    ],
                )
            # age this customer's jobs and batches
            mine = WriteJob.operation_id.in_([single, batched])
            await conn.execute(update(WriteJob).where(mine).values(create_time=old))
            await conn.execute(
                update(AutoBatch).where(AutoBatch.operation_id == batched).values(create_time=old)
            )
            pruned = await prune(conn, keep_days=7)
            jobs = (await conn.execute(select(func.count()).where(mine))).scalar_one()
            batches = (
                await conn.execute(select(func.count()).where(AutoBatch.operation_id == batched))
            ).scalar_one()
            pending = (
                await conn.execute(
                    select(func.count()).where(
                        WebhookDelivery.webhook_id == webhook_id,
                        WebhookDelivery.status == "pending",
                    )
                )
            ).scalar_one()
        await engine.dispose()
        return pruned, jobs, batches, pending

    pruned, jobs, batches, pending = asyncio.run(run())
    assert pruned["jobs"] >= 2 and pruned["autoBatches"] >= 1 and pruned["deliveries"] >= 1
    assert (jobs, batches) == (0, 0)
    assert pending == 1  # not finished: kept
    for operation_id in (single, batched):  # the record stays
        assert customer.operation(operation_id)["status"] == "success"

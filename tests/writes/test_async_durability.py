"""No accepted write is lost: SIGKILL in the middle of a run, and two workers sharing a queue."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import distinct, func, select

from conftest import FAST_ASYNC, Sandbox, Server, free_port
from writeback.settings import Settings
from writeback.store.engine import create_engine
from writeback.store.tables import Operation, WriteJob
from writes.write_support import Customer, new_customer, wait_all


def fast_env() -> dict[str, str]:
    return {f"WRITEBACK_{name.upper()}": str(value) for name, value in FAST_ASYNC.items()}


@contextmanager
def serve_process(
    home: Path, sandbox: Sandbox, admin_key: str, port: int
) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        **fast_env(),
        "WRITEBACK_HOME": str(home),
        "WRITEBACK_SANDBOX_URL": sandbox.url,
        "WRITEBACK_ADMIN_KEY": admin_key,
        "WRITEBACK_JOB_LEASE_SECONDS": "2",
    }
    env.pop("WRITEBACK_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "writeback", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
        assert time.monotonic() < deadline, "writeback did not start"
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


async def count_in_progress(database_url: str) -> int:
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        query = select(func.count()).select_from(Operation).where(Operation.status == "in_progress")
        value = int((await conn.execute(query)).scalar_one())
    await engine.dispose()
    return value


def test_sigkill_mid_run_loses_nothing_and_duplicates_nothing(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    admin_key = "wbadmin_" + secrets.token_urlsafe(16)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    admin = httpx.Client(base_url=url + "/v1", headers={"X-Api-Key": admin_key}, timeout=30)
    harness = Server("sqlite", url, tmp_path, Settings(home=tmp_path), admin_key, admin)
    with serve_process(tmp_path, sandbox, admin_key, port) as process:
        # one customer's installation names the field that identifies an account, so an
        # interrupted create can be looked up; the other's does not
        matched = new_customer(
            harness,
            sandbox,
            "salesforce",
            write_objects={
                "account": {"objectName": "account", "reconcileFields": ["companyName"]}
            },
        )
        unmatched = new_customer(harness, sandbox, "salesforce")
        accepted: dict[str, tuple[Customer, str]] = {}
        for customer in (matched, unmatched):
            customer.faults(latencyMs=300)  # writes are in flight when the kill comes
        for i in range(60):
            for name, customer in (("m", matched), ("u", unmatched)):
                response = customer.write(
                    "account",
                    {
                        "type": "create",
                        "mode": "asynchronous",
                        "record": {"companyName": f"kill-{name}-{i}"},
                    },
                )
                assert response.status_code == 200, response.text
                accepted[response.json()["operationId"]] = (customer, f"kill-{name}-{i}")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    unfinished = asyncio.run(count_in_progress(f"sqlite+aiosqlite:///{tmp_path / 'writeback.db'}"))
    assert unfinished > 0, "the kill came after every write had finished: nothing was tested"
    for customer in (matched, unmatched):
        customer.faults()
    with serve_process(tmp_path, sandbox, admin_key, port):
        finished = {
            op_id: op
            for customer in (matched, unmatched)
            for op_id, op in wait_all(
                customer, {o for o, (c, _) in accepted.items() if c is customer}
            ).items()
        }
        written = Counter(
            r["Name"] for customer in (matched, unmatched) for r in customer.records("Account")
        )
        logs = {
            operation_id: [line["message"]["msg"] for line in customer.logs(operation_id)]
            for operation_id, (customer, _) in accepted.items()
        }
        interrupted = {
            name
            for operation_id, (_, name) in accepted.items()
            if any("got no answer" in msg for msg in logs[operation_id])
        }
    assert interrupted, "no write was cut off mid-call: nothing was tested"
    assert max(written.values()) == 1  # nothing was written twice
    for operation_id, (customer, name) in accepted.items():
        operation = finished[operation_id]
        if operation["status"] == "success":
            assert written[name] == 1  # what succeeded is there, once
        else:
            # only an interrupted create without a way to look it up is left unknown
            assert customer is unmatched and name in interrupted, (operation, logs[operation_id])
            assert operation["metadata"]["errorCode"] == "outcome_unknown"
    # with reconcileFields every write ends in success: the interrupted ones were found or
    # were certainly absent and sent again
    assert all(finished[o]["status"] == "success" for o, (c, _) in accepted.items() if c is matched)
    assert {n for _, (c, n) in accepted.items() if c is matched} <= set(written)
    admin.close()


def test_two_workers_share_the_queue(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "hubspot")
    customer.faults(latencyMs=20)
    env = {
        **os.environ,
        **fast_env(),
        "WRITEBACK_HOME": str(stack.home),
        "WRITEBACK_DATABASE_URL": stack.settings.database_url,
        "WRITEBACK_SANDBOX_URL": sandbox.url,
    }
    worker = subprocess.Popen([sys.executable, "-m", "writeback", "worker"], env=env)
    try:
        time.sleep(1.5)  # let it start polling
        ids = set()
        for i in range(150):
            response = customer.write(
                "companies",
                {"type": "create", "mode": "asynchronous", "record": {"name": f"w-{i}"}},
            )
            assert response.status_code == 200, response.text
            ids.add(response.json()["operationId"])
        finished = wait_all(customer, ids)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    assert all(op["status"] == "success" for op in finished.values())
    names = Counter(r["properties"]["name"] for r in customer.records("companies"))
    assert len(names) == 150 and set(names.values()) == {1}  # each written exactly once

    async def owners() -> int:
        engine = create_engine(stack.settings.database_url)
        async with engine.connect() as conn:
            count = await conn.execute(
                select(func.count(distinct(WriteJob.lease_owner))).where(
                    WriteJob.operation_id.in_(ids)
                )
            )
            value = int(count.scalar_one())
        await engine.dispose()
        return value

    assert asyncio.run(owners()) == 2  # both workers ran some of the jobs

"""Workers are fair to every customer, cap calls per connection, and stop gracefully."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from conftest import BACKENDS, FAST_ASYNC, Sandbox, Server, tuned_stack
from writeback.store.engine import create_engine
from writeback.store.tables import WriteJob
from writes.write_support import Customer, new_customer, wait_all, wait_for


def accept(customer: Customer, object_name: str, record: dict[str, Any]) -> str:
    response = customer.write(
        object_name, {"type": "create", "mode": "asynchronous", "record": record}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["operationId"])


def jobs(server: Server, **where: Any) -> list[Any]:
    """Rows of write_job, read straight from the database."""

    async def read() -> list[Any]:
        engine = create_engine(server.settings.database_url)
        query = select(WriteJob)
        for name, value in where.items():
            query = query.where(getattr(WriteJob, name) == value)
        async with engine.connect() as conn:
            rows = list((await conn.execute(query)).all())
        await engine.dispose()
        return rows

    return asyncio.run(read())


# --- fairness ------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def narrow(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sandbox: Sandbox
) -> Iterator[Server]:
    """A worker with 4 slots, and a per-connection cap that would let one customer fill them."""
    with tuned_stack(
        request,
        tmp_path_factory,
        sandbox,
        "narrow",
        worker_concurrency=4,
        connection_concurrency="8",
    ) as harness:
        yield harness


def test_one_customers_backlog_does_not_hold_back_another(narrow: Server, sandbox: Sandbox) -> None:
    busy = new_customer(narrow, sandbox, "hubspot")
    busy.faults(latencyMs=300)  # 120 writes on 4 slots: about 9 s of work
    backlog = [accept(busy, "companies", {"name": f"busy-{i}"}) for i in range(120)]
    quiet = new_customer(narrow, sandbox, "hubspot")
    single = wait_for(quiet, accept(quiet, "companies", {"name": "quiet"}))
    assert single["status"] == "success"
    installation = busy.installation["id"]
    waiting = [j for j in jobs(narrow, installation_id=installation) if j.status != "done"]
    # first in, first out would have run the whole backlog first; rotating across
    # connections ran the quiet customer's write within a round
    assert len(waiting) >= 60, f"only {len(waiting)} of the backlog were still waiting"
    finished = wait_all(busy, backlog)
    assert all(op["status"] == "success" for op in finished.values())


@pytest.fixture(scope="module", params=BACKENDS)
def capped(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sandbox: Sandbox
) -> Iterator[Server]:
    with tuned_stack(
        request,
        tmp_path_factory,
        sandbox,
        "capped",
        worker_concurrency=8,
        connection_concurrency="hubspot=2",
    ) as harness:
        yield harness


def test_a_connection_never_has_more_calls_in_flight_than_its_cap(
    capped: Server, sandbox: Sandbox
) -> None:
    customer = new_customer(capped, sandbox, "hubspot")
    customer.faults(latencyMs=250)
    connection = customer.connection["id"]
    seen: list[int] = []
    stop = threading.Event()

    async def sample() -> None:
        engine = create_engine(capped.settings.database_url)
        query = (
            select(func.count())
            .select_from(WriteJob)
            .where(WriteJob.connection_id == connection, WriteJob.status == "running")
        )
        async with engine.connect() as conn:
            while not stop.is_set():
                seen.append(int((await conn.execute(query)).scalar_one()))
                await conn.commit()
                await asyncio.sleep(0.02)
        await engine.dispose()

    sampler = threading.Thread(target=lambda: asyncio.run(sample()))
    sampler.start()
    try:
        written = wait_all(
            customer, [accept(customer, "companies", {"name": f"c{i}"}) for i in range(24)]
        )
    finally:
        stop.set()
        sampler.join(10)
    assert all(op["status"] == "success" for op in written.values())
    assert max(seen) == 2  # the cap was reached and never passed, with 8 slots free


# --- graceful shutdown -----------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def api_only(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sandbox: Sandbox
) -> Iterator[Server]:
    """An API server without a worker: the test starts worker processes itself."""
    with tuned_stack(
        request, tmp_path_factory, sandbox, "api_only", embedded_worker=False
    ) as harness:
        yield harness


def start(server: Server, sandbox: Sandbox, command: list[str]) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **{f"WRITEBACK_{k.upper()}": str(v) for k, v in FAST_ASYNC.items()},
        "WRITEBACK_HOME": str(server.home),
        "WRITEBACK_DATABASE_URL": server.settings.database_url,
        "WRITEBACK_SANDBOX_URL": sandbox.url,
        "WRITEBACK_JOB_LEASE_SECONDS": "120",  # a takeover after the lease would take minutes
        "WRITEBACK_DRAIN_SECONDS": "0.5",
        "WRITEBACK_RECOVERY_DELAY_SECONDS": "3",
    }
    return subprocess.Popen([sys.executable, "-m", "writeback", *command], env=env)


@pytest.mark.parametrize("command", [["worker"], ["serve", "--port", "0", "--no-migrate"]])
def test_sigterm_gives_claims_back_at_once(
    api_only: Server, sandbox: Sandbox, command: list[str]
) -> None:
    customer = new_customer(
        api_only,
        sandbox,
        "salesforce",
        write_objects={"contact": {"objectName": "contact", "reconcileFields": ["Email"]}},
    )
    customer.faults(latencyMs=2000)  # in flight when the signal comes
    ids = [
        accept(customer, "contact", {"LastName": f"T{i}", "Email": f"t{i}@example.com"})
        for i in range(6)
    ]
    process = start(api_only, sandbox, command)
    try:
        installation = customer.installation["id"]
        deadline = time.monotonic() + 30
        while not any(j.status == "running" for j in jobs(api_only, installation_id=installation)):
            assert time.monotonic() < deadline, "the process never claimed the jobs"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once it has shut down cleanly
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
    left = jobs(api_only, installation_id=installation)
    # nothing is left claimed until a 120 s lease runs out: every claim was given back
    assert not [j for j in left if j.status == "running"]
    cut = [j for j in left if j.status == "queued"]
    assert cut and all(j.lease_owner is None and j.sending_attempt for j in cut)
    customer.faults()
    successor = start(api_only, sandbox, ["worker"])
    try:
        finished = wait_all(customer, ids)
    finally:
        successor.send_signal(signal.SIGTERM)
        successor.wait(timeout=30)
    assert all(op["status"] == "success" for op in finished.values())
    emails = sorted(r["Email"] for r in customer.records("Contact"))
    assert emails == sorted(f"t{i}@example.com" for i in range(6))  # each exactly once

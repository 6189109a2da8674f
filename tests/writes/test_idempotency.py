"""Idempotency-Key on the Write API: Stripe's semantics, sync and async, across processes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from conftest import FAST_ASYNC, Sandbox, Server, ServerThread, free_port
from writeback.api.app import create_app
from writeback.operations import idempotency
from writeback.operations.idempotency import request_fingerprint
from writeback.operations.janitor import prune
from writeback.settings import Settings
from writeback.store.engine import create_engine
from writeback.store.tables import IdempotencyKey, new_id
from writes.write_support import Customer, new_customer

T = TypeVar("T")
REPLAYED = "Idempotent-Replayed"


def new_key() -> str:
    return str(uuid.uuid4())


def object_path(customer: Customer, object_name: str) -> str:
    return f"{customer.p}/integrations/{customer.integration['id']}/objects/{object_name}"


def send(
    customer: Customer,
    object_name: str,
    body: dict[str, Any],
    key: str | None,
    *,
    api: httpx.Client | None = None,
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return (api or customer.api).post(
        object_path(customer, object_name),
        json={"groupRef": customer.group_ref, **body},
        headers=headers,
    )


def in_database(stack: Server, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run `work` in one transaction on the stack's database, from outside the server."""

    async def run() -> T:
        engine = create_engine(stack.settings.database_url)
        try:
            async with engine.begin() as conn:
                return await work(conn)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def key_rows(stack: Server, project_id: str) -> dict[str, dict[str, Any]]:
    async def work(conn: AsyncConnection) -> dict[str, dict[str, Any]]:
        rows = await conn.execute(
            select(IdempotencyKey).where(IdempotencyKey.project_id == project_id)
        )
        return {row.key: dict(row._mapping) for row in rows}

    return in_database(stack, work)


def set_key(stack: Server, project_id: str, key: str, **values: Any) -> None:
    async def work(conn: AsyncConnection) -> None:
        await conn.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.project_id == project_id, IdempotencyKey.key == key)
            .values(**values)
        )

    in_database(stack, work)


def add_key(
    stack: Server, customer: Customer, key: str, body: dict[str, Any], **values: Any
) -> None:
    """A key row as another request would have left it, for the request `body`."""
    sent = json.dumps({"groupRef": customer.group_ref, **body}).encode()
    path = f"/integrations/{customer.integration['id']}/objects/contact"
    now = datetime.now(UTC)

    async def work(conn: AsyncConnection) -> None:
        await conn.execute(
            insert(IdempotencyKey).values(
                id=new_id(),
                project_id=customer.project["id"],
                key=key,
                request_hash=request_fingerprint("POST", path, sent),
                create_time=now,
                expires_at=now + timedelta(hours=24),
                **values,
            )
        )

    in_database(stack, work)


def sandbox_requests(customer: Customer) -> int:
    return sum(customer.stats().values())


def wait_done(customer: Customer, operation_id: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        operation = customer.operation(operation_id)
        if operation["status"] != "in_progress":
            return operation
        assert time.monotonic() < deadline, f"operation {operation_id} never finished"
        time.sleep(0.05)


def assert_replayed(first: httpx.Response, again: httpx.Response) -> None:
    assert REPLAYED not in first.headers
    assert again.headers.get(REPLAYED) == "true"
    assert again.status_code == first.status_code
    assert again.json() == first.json()
    assert again.headers["content-type"] == first.headers["content-type"]


# --- replays ----------------------------------------------------------------------------------


def test_sync_create_is_replayed_not_written_again(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "salesforce")
    key = new_key()
    body = {"type": "create", "record": {"FirstName": "Harry", "LastName": "Potter"}}
    first = send(customer, "contact", body, key)
    assert first.status_code == 200, first.text
    calls = sandbox_requests(customer)
    again = send(customer, "contact", body, key)
    assert_replayed(first, again)
    # the same JSON in another key order and spacing is the same request
    reordered = customer.api.post(
        object_path(customer, "contact"),
        content=b'{ "record": {"LastName": "Potter", "FirstName": "Harry"},  "type": "create",'
        + f' "groupRef": "{customer.group_ref}"}}'.encode(),
        headers={"Idempotency-Key": key, "Content-Type": "application/json"},
    )
    assert_replayed(first, reordered)
    assert sandbox_requests(customer) == calls  # nothing was sent to the provider
    assert [r["LastName"] for r in customer.records("Contact")] == ["Potter"]
    row = key_rows(stack, customer.project["id"])[key]
    assert row["status"] == "done" and row["operation_id"] == first.json()["operationId"]


def test_async_create_is_replayed_with_the_same_operation(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "hubspot")
    key = new_key()
    body = {"type": "create", "mode": "asynchronous", "record": {"name": "Later Inc"}}
    first = send(customer, "companies", body, key)
    assert first.status_code == 200, first.text
    operation_id = first.json()["operationId"]
    again = send(customer, "companies", body, key)
    assert_replayed(first, again)
    assert again.json() == {"operationId": operation_id}
    assert wait_done(customer, operation_id)["status"] == "success"
    third = send(customer, "companies", body, key)
    assert_replayed(first, third)
    assert [r["properties"]["name"] for r in customer.records("companies")] == ["Later Inc"]


def test_provider_rejection_is_replayed(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "salesforce")
    key = new_key()
    body = {"type": "create", "record": {"FirstName": "No last name"}}
    first = send(customer, "contact", body, key)
    assert first.status_code == 422, first.text
    assert first.json()["errors"][0]["code"] == "REQUIRED_FIELD_MISSING"
    calls = sandbox_requests(customer)
    again = send(customer, "contact", body, key)
    assert_replayed(first, again)
    assert sandbox_requests(customer) == calls


def test_reconnect_problem_is_replayed(stack: Server, sandbox: Sandbox) -> None:
    # a 424 comes after the write was recorded: stored and replayed, as problem+json
    customer = new_customer(stack, sandbox, "salesforce")
    admin = f"/_sandbox/tenants/{customer.tenant['tenantId']}"
    sandbox.admin.post(f"{admin}/tokens/revoke", json={})
    assert sandbox.admin.post(f"{admin}/tokens/expire", json={}).json()["expired"] >= 1
    key = new_key()
    body = {"type": "create", "record": {"LastName": "Needs reconnect"}}
    first = send(customer, "contact", body, key)
    assert first.status_code == 424, first.text
    assert first.headers["content-type"] == "application/problem+json"
    operation_id = first.json()["context"]["operationId"]
    calls = sandbox_requests(customer)
    again = send(customer, "contact", body, key)
    assert_replayed(first, again)
    assert sandbox_requests(customer) == calls
    assert key_rows(stack, customer.project["id"])[key]["operation_id"] == operation_id


# --- conflicts, waiting, interrupted requests ------------------------------------------------


def test_same_key_with_another_request_is_422(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "salesforce")
    key = new_key()
    first = send(customer, "contact", {"type": "create", "record": {"LastName": "One"}}, key)
    assert first.status_code == 200, first.text
    for object_name, record in (("contact", {"LastName": "Two"}), ("lead", {"LastName": "One"})):
        other = send(customer, object_name, {"type": "create", "record": record}, key)
        assert other.status_code == 422, other.text
        assert other.headers["content-type"] == "application/problem+json"
        problem = other.json()
        assert "different request" in problem["detail"]
        assert "new Idempotency-Key" in problem["remedy"]
        assert problem["issues"][0]["in"] == "header"
        assert problem["issues"][0]["name"] == "Idempotency-Key"
    assert [r["LastName"] for r in customer.records("Contact")] == ["One"]
    assert customer.records("Lead") == []


def test_concurrent_duplicate_waits_for_the_first_answer(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "salesforce")
    customer.faults(latencyMs=1500)
    key = new_key()
    body = {"type": "create", "record": {"LastName": "Only once"}}
    answers: dict[str, httpx.Response] = {}

    def first() -> None:
        answers["first"] = send(customer, "contact", body, key)

    thread = threading.Thread(target=first)
    thread.start()
    time.sleep(0.5)  # the first is waiting on the provider
    second = send(customer, "contact", body, key)
    thread.join()
    customer.faults()
    assert answers["first"].status_code == 200, answers["first"].text
    assert_replayed(answers["first"], second)
    assert [r["LastName"] for r in customer.records("Contact")] == ["Only once"]


def test_still_running_after_the_wait_is_409(
    stack: Server, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = new_customer(stack, sandbox, "salesforce")
    key = new_key()
    body = {"type": "create", "record": {"LastName": "Busy"}}
    lease = datetime.now(UTC) + timedelta(minutes=5)
    add_key(stack, customer, key, body, status="running", claim_token="t", lease_expires_at=lease)
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.3)  # the server runs in this process
    busy = send(customer, "contact", body, key)
    assert busy.status_code == 409, busy.text
    assert busy.headers["content-type"] == "application/problem+json"
    assert int(busy.headers["retry-after"]) >= 1
    assert busy.json()["retryable"] is True
    assert customer.records("Contact") == []


def test_a_slow_write_keeps_its_claim(
    stack: Server, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the claim is renewed while the write runs: a duplicate arriving after the first lease
    # would have run out waits for the answer (without renewal it would be told the first
    # request was interrupted)
    monkeypatch.setattr(idempotency, "LEASE_SECONDS", 0.6)
    customer = new_customer(stack, sandbox, "salesforce")
    customer.faults(latencyMs=1500)
    key = new_key()
    body = {"type": "create", "record": {"LastName": "Slow"}}
    answers: dict[str, httpx.Response] = {}
    thread = threading.Thread(
        target=lambda: answers.update(first=send(customer, "contact", body, key))
    )
    thread.start()
    time.sleep(1.0)
    second = send(customer, "contact", body, key)
    thread.join()
    customer.faults()
    assert answers["first"].status_code == 200, answers["first"].text
    assert_replayed(answers["first"], second)
    assert [r["LastName"] for r in customer.records("Contact")] == ["Slow"]


def test_interrupted_first_request(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "salesforce")
    expired = datetime.now(UTC) - timedelta(seconds=1)
    # it recorded an operation and its process died: the write goes on without it
    recorded = send(customer, "contact", {"type": "create", "record": {"LastName": "Rec"}}, None)
    operation_id = recorded.json()["operationId"]
    key = new_key()
    body = {"type": "create", "record": {"LastName": "Orphan"}}
    add_key(
        stack,
        customer,
        key,
        body,
        status="running",
        claim_token="dead",
        lease_expires_at=expired,
        operation_id=operation_id,
    )
    orphaned = send(customer, "contact", body, key)
    assert orphaned.status_code == 409, orphaned.text
    problem = orphaned.json()
    assert problem["context"]["operationId"] == operation_id
    assert (
        f"GET /v1/projects/{customer.project['id']}/operations/{operation_id}"
        in (problem["remedy"])
    )
    # it died before anything was recorded: nothing was written, the key is taken over
    key = new_key()
    body = {"type": "create", "record": {"LastName": "Taken over"}}
    add_key(
        stack, customer, key, body, status="running", claim_token="dead", lease_expires_at=expired
    )
    taken = send(customer, "contact", body, key)
    assert taken.status_code == 200, taken.text
    assert REPLAYED not in taken.headers
    assert sorted(r["LastName"] for r in customer.records("Contact")) == ["Rec", "Taken over"]
    assert_replayed(taken, send(customer, "contact", body, key))


# --- what does not consume a key ---------------------------------------------------------------


def test_invalid_requests_do_not_consume_the_key(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "salesforce")
    key = new_key()
    invalid = [
        ("contact", {"type": "update", "record": {"LastName": "no id"}}, 400),  # validity matrix
        ("contact", {"type": "create", "record": {"LastName": "x"}, "bogus": 1}, 400),  # body
        ("nothing", {"type": "create", "record": {"LastName": "x"}}, 404),  # unknown object
    ]
    for object_name, body, status in invalid:
        answer = send(customer, object_name, body, key)
        assert answer.status_code == status, answer.text
        assert REPLAYED not in answer.headers
        again = send(customer, object_name, body, key)  # not stored: evaluated again
        assert again.status_code == status and REPLAYED not in again.headers
    assert key not in key_rows(stack, customer.project["id"])
    fixed = send(customer, "contact", {"type": "create", "record": {"LastName": "Fixed"}}, key)
    assert fixed.status_code == 200, fixed.text


@pytest.mark.parametrize(
    "value",
    [b"k" * 256, b"caf\xe9", b"tab\tin"],
    ids=["too-long", "not-ascii", "control"],
)
def test_bad_keys_are_400_naming_the_header(stack: Server, sandbox: Sandbox, value: bytes) -> None:
    customer = new_customer(stack, sandbox, "salesforce")
    answer = customer.api.post(
        object_path(customer, "contact"),
        json={"groupRef": customer.group_ref, "type": "create", "record": {"LastName": "x"}},
        headers=[(b"Idempotency-Key", value)],
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["issues"][0] == {
        "in": "header",
        "name": "Idempotency-Key",
        "detail": answer.json()["issues"][0]["detail"],
        "remedy": answer.json()["remedy"],
    }
    assert customer.records("Contact") == []


def test_two_keys_in_one_request_are_400(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "salesforce")
    answer = customer.api.post(
        object_path(customer, "contact"),
        json={"groupRef": customer.group_ref, "type": "create", "record": {"LastName": "x"}},
        headers=[("Idempotency-Key", "a"), ("Idempotency-Key", "b")],
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["issues"][0]["name"] == "Idempotency-Key"


# --- scope and lifetime ------------------------------------------------------------------------


def test_keys_are_per_project(stack: Server, sandbox: Sandbox) -> None:
    one = new_customer(stack, sandbox, "salesforce")
    two = new_customer(stack, sandbox, "salesforce")
    key = new_key()
    body = {"type": "create", "record": {"LastName": "Same"}}
    for customer in (one, two):
        answer = send(customer, "contact", body, key)
        assert answer.status_code == 200, answer.text
        assert REPLAYED not in answer.headers
        assert [r["LastName"] for r in customer.records("Contact")] == ["Same"]


def test_an_expired_key_is_new_again(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "salesforce")
    key = new_key()
    body = {"type": "create", "record": {"LastName": "Twice"}}
    first = send(customer, "contact", body, key)
    assert first.status_code == 200, first.text
    set_key(stack, customer.project["id"], key, expires_at=datetime.now(UTC) - timedelta(1))
    second = send(customer, "contact", body, key)
    assert second.status_code == 200, second.text
    assert REPLAYED not in second.headers
    assert second.json()["operationId"] != first.json()["operationId"]
    assert [r["LastName"] for r in customer.records("Contact")] == ["Twice", "Twice"]
    # it is remembered again from now on
    assert_replayed(second, send(customer, "contact", body, key))


def test_janitor_prunes_expired_keys(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "salesforce")
    keys = [new_key(), new_key()]
    for n, key in enumerate(keys):
        body = {"type": "create", "record": {"LastName": f"Pruned {n}"}}
        assert send(customer, "contact", body, key).status_code == 200
    project_id = customer.project["id"]
    set_key(stack, project_id, keys[0], expires_at=datetime.now(UTC) - timedelta(minutes=1))

    async def work(conn: AsyncConnection) -> tuple[dict[str, int], int]:
        pruned = await prune(conn, keep_days=7)
        left = await conn.execute(
            select(func.count()).where(IdempotencyKey.project_id == project_id)
        )
        return pruned, int(left.scalar_one())

    pruned, left = in_database(stack, work)
    assert pruned["idempotencyKeys"] >= 1
    assert left == 1
    assert set(key_rows(stack, project_id)) == {keys[1]}


# --- across processes --------------------------------------------------------------------------


@contextmanager
def second_server(stack: Server, sandbox: Sandbox) -> Iterator[str]:
    """`writeback serve` as its own process on the stack's database (SQLite file or
    PostgreSQL); yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        **{f"WRITEBACK_{name.upper()}": str(value) for name, value in FAST_ASYNC.items()},
        "WRITEBACK_HOME": str(stack.home),
        "WRITEBACK_DATABASE_URL": stack.settings.database_url,
        "WRITEBACK_SANDBOX_URL": sandbox.url,
        "WRITEBACK_ADMIN_KEY": stack.admin_key,
        "WRITEBACK_EMBEDDED_WORKER": "0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "writeback", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "writeback serve exited"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
            assert time.monotonic() < deadline, "writeback serve did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_key_is_honoured_by_another_process(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "salesforce")
    with (
        second_server(stack, sandbox) as url,
        httpx.Client(base_url=url + "/v1", headers=customer.api.headers, timeout=30) as other,
    ):
        # sent to this process, then to the other one
        key = new_key()
        body = {"type": "create", "record": {"LastName": "Across"}}
        first = send(customer, "contact", body, key)
        assert first.status_code == 200, first.text
        assert_replayed(first, send(customer, "contact", body, key, api=other))
        # sent to both at once: the other one waits for this one's answer
        customer.faults(latencyMs=1500)
        key = new_key()
        body = {"type": "create", "record": {"LastName": "Concurrent"}}
        answers: dict[str, httpx.Response] = {}

        def here() -> None:
            answers["here"] = send(customer, "contact", body, key)

        thread = threading.Thread(target=here)
        thread.start()
        time.sleep(0.5)
        there = send(customer, "contact", body, key, api=other)
        thread.join()
        customer.faults()
        assert answers["here"].status_code == 200, answers["here"].text
        assert_replayed(answers["here"], there)
        # sent to both at the same instant: one claims the key, the other replays its answer
        raced = {f"Race {n}": new_key() for n in range(8)}
        results: dict[tuple[str, int], httpx.Response] = {}
        start = threading.Barrier(2 * len(raced))

        def race(name: str, key: str, side: int) -> None:
            body = {"type": "create", "record": {"LastName": name}}
            start.wait()
            results[name, side] = send(customer, "contact", body, key, api=(None, other)[side])

        threads = [
            threading.Thread(target=race, args=(name, key, side))
            for name, key in raced.items()
            for side in (0, 1)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for name in raced:
        pair = [results[name, 0], results[name, 1]]
        assert [a.status_code for a in pair] == [200, 200], [a.text for a in pair]
        assert pair[0].json() == pair[1].json()
        assert sorted(a.headers.get(REPLAYED, "") for a in pair) == ["", "true"]
    names = sorted(r["LastName"] for r in customer.records("Contact"))
    assert names == sorted(["Across", "Concurrent", *raced])


def test_the_documented_route_replays_too(stack: Server, sandbox: Sandbox) -> None:
    # the FastAPI route (the app without the fast path in front) on the same database
    customer = new_customer(stack, sandbox, "salesforce")
    key = new_key()
    body = {"type": "create", "record": {"FirstName": "No last name"}}
    first = send(customer, "contact", body, key)
    assert first.status_code == 422, first.text
    settings = Settings(
        home=stack.home,
        database_url=stack.settings.database_url,
        admin_key=stack.admin_key,
        sandbox_url=sandbox.url,
        embedded_worker=False,
    )
    with (
        ServerThread(create_app(settings, migrate=False)) as plain,
        httpx.Client(base_url=plain.url + "/v1", headers=customer.api.headers) as api,
    ):
        again = send(customer, "contact", body, key, api=api)
        assert_replayed(first, again)
        other = send(
            customer, "contact", {"type": "create", "record": {"LastName": "x"}}, key, api=api
        )
        assert other.status_code == 422 and other.json()["issues"][0]["name"] == "Idempotency-Key"
        fresh = new_key()
        made = send(
            customer, "contact", {"type": "create", "record": {"LastName": "Y"}}, fresh, api=api
        )
        assert made.status_code == 200, made.text
        assert made.headers["content-type"] == "application/json"
        assert_replayed(
            made, send(customer, "contact", {"type": "create", "record": {"LastName": "Y"}}, fresh)
        )
    assert [r["LastName"] for r in customer.records("Contact")] == ["Y"]

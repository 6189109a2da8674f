"""Delivery guarantees end to end: a slow provider, lost answers, the database away, replays.

The `tight` server has a 1 s job lease, a 1 s commit timeout and a 4 s provider timeout, so
each failure happens quickly; every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
import pytest

from conftest import BACKENDS, Sandbox, Server, tuned_stack
from writes.write_support import Customer, new_customer, wait_for


@pytest.fixture(scope="module", params=BACKENDS)
def tight(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sandbox: Sandbox
) -> Iterator[Server]:
    with tuned_stack(
        request,
        tmp_path_factory,
        sandbox,
        "tight",
        job_lease_seconds=1.0,
        commit_timeout_seconds=1.0,
        provider_timeout_seconds=4.0,
        max_attempts=4,
        recovery_delay_seconds=0.5,
    ) as harness:
        yield harness


def messages(customer: Customer, operation_id: str) -> list[str]:
    return [line["message"]["msg"] for line in customer.logs(operation_id)]


def salesforce_with_reconcile(stack: Server, sandbox: Sandbox) -> Customer:
    return new_customer(
        stack,
        sandbox,
        "salesforce",
        write_objects={
            "contact": {
                "objectName": "contact",
                "reconcileFields": ["Email"],
                "deletionSettings": {"enabled": True},
            },
            "account": {"objectName": "account"},
        },
    )


# --- a provider slower than the lease ------------------------------------------------------


def test_a_provider_slower_than_the_lease_never_causes_a_second_send(
    tight: Server, sandbox: Sandbox
) -> None:
    customer = new_customer(tight, sandbox, "salesforce")
    customer.faults(latencyMs=3000)  # three 1 s leases, within the provider timeout
    accepted = customer.write(
        "account", {"type": "create", "mode": "asynchronous", "record": {"companyName": "Slow"}}
    )
    operation_id = accepted.json()["operationId"]
    operation = wait_for(customer, operation_id)
    assert operation["status"] == "success", messages(customer, operation_id)
    assert [r["Name"] for r in customer.records("Account")] == ["Slow"]
    assert customer.stats().get("sobject.create") == 1  # one call, never a second
    assert operation["metadata"]["retry"]["attempts"] == 1  # the lease was renewed, not lost
    assert not any("no answer" in m for m in messages(customer, operation_id))


def test_a_slow_sync_write_keeps_its_claim(tight: Server, sandbox: Sandbox) -> None:
    customer = new_customer(tight, sandbox, "hubspot")
    customer.faults(latencyMs=2500)  # slower than the lease, faster than the provider timeout
    written = customer.write("companies", {"type": "create", "record": {"name": "Patient"}})
    assert written.status_code == 200, written.text
    time.sleep(1.5)  # a worker would take over an abandoned claim by now
    assert [r["properties"]["name"] for r in customer.records("companies")] == ["Patient"]
    assert customer.operation(written.json()["operationId"])["status"] == "success"


# --- answers lost after the provider wrote ----------------------------------------------------


def test_lost_answer_to_a_create_with_a_reconcile_key_is_found_not_resent(
    tight: Server, sandbox: Sandbox
) -> None:
    customer = salesforce_with_reconcile(tight, sandbox)
    customer.faults(failNext=["drop_after_write"])
    written = customer.write(
        "contact", {"type": "create", "record": {"LastName": "Once", "Email": "once@example.com"}}
    )
    assert written.status_code == 200, written.text
    contacts = customer.records("Contact")
    assert len(contacts) == 1  # the lost attempt wrote it; nothing wrote it again
    assert written.json()["result"]["recordId"] == contacts[0]["Id"]
    assert written.json()["warnings"][0]["code"] == "RECONCILED"
    assert customer.stats().get("query") == 1  # looked up by Email, created since the attempt
    assert any(
        "attempt 1 got no answer" in m for m in messages(customer, written.json()["operationId"])
    )


def test_a_sync_create_that_timed_out_is_settled_by_a_worker(
    tight: Server, sandbox: Sandbox
) -> None:
    customer = salesforce_with_reconcile(tight, sandbox)
    customer.faults(failNext=["timeout_after_write"], timeoutSeconds=6)
    written = customer.write(
        "contact", {"type": "create", "record": {"LastName": "Late", "Email": "late@example.com"}}
    )
    # the provider may still be working on it: no answer now, a worker looks for it later
    assert written.status_code == 502, written.text
    problem = written.json()
    assert problem["code"] == "outcome_unknown" and problem["retryable"] is False
    assert "GET" in problem["remedy"]
    operation = wait_for(customer, problem["context"]["operationId"])
    assert operation["status"] == "success", messages(customer, operation["id"])
    contacts = customer.records("Contact")
    assert len(contacts) == 1 and operation["metadata"]["successfulRecordIds"] == [
        contacts[0]["Id"]
    ]


@pytest.mark.parametrize("fault", ["drop_after_write", "timeout_after_write"])
def test_lost_answer_to_a_create_without_a_reconcile_key_is_reported_unknown(
    tight: Server, sandbox: Sandbox, fault: str
) -> None:
    customer = new_customer(tight, sandbox, "salesforce")
    customer.faults(failNext=[fault], timeoutSeconds=6)
    written = customer.write("account", {"type": "create", "record": {"companyName": "Maybe"}})
    assert written.status_code == 502, written.text
    problem = written.json()
    assert written.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "outcome_unknown" and problem["retryable"] is False
    operation = wait_for(customer, problem["context"]["operationId"])
    assert operation["status"] == "failure"
    assert operation["metadata"]["errorCode"] == "outcome_unknown"
    assert [r["Name"] for r in customer.records("Account")] == ["Maybe"]  # once, never twice
    assert any("Check the CRM" in m for m in messages(customer, operation["id"]))


def test_a_lost_token_answer_is_not_a_lost_write_answer(tight: Server, sandbox: Sandbox) -> None:
    customer = new_customer(
        tight, sandbox, "hubspot", access_token_expires_at="2000-01-01T00:00:00Z"
    )
    customer.faults(failNext=["drop"])  # the token refresh comes first, and loses its answer
    written = customer.write("companies", {"type": "create", "record": {"name": "Token"}})
    # the create itself was never sent: a plain, retryable failure, not an unknown outcome
    assert written.status_code == 422, written.text
    assert written.json()["retryable"] is True
    assert customer.records("companies") == []
    again = customer.write("companies", {"type": "create", "record": {"name": "Token"}})
    assert again.status_code == 200, again.text


def test_hubspot_unique_email_settles_a_lost_create(tight: Server, sandbox: Sandbox) -> None:
    customer = new_customer(tight, sandbox, "hubspot")
    customer.faults(failNext=["drop_after_write"])
    written = customer.write(
        "contacts", {"type": "create", "record": {"email": "lost@example.com"}}
    )
    assert written.status_code == 200, written.text
    contacts = customer.records("contacts")
    assert len(contacts) == 1
    assert written.json()["result"]["recordId"] == contacts[0]["id"]  # the first one, adopted
    assert written.json()["warnings"][0]["code"] == "RECONCILED"


def test_a_contact_that_existed_before_is_not_adopted(tight: Server, sandbox: Sandbox) -> None:
    customer = new_customer(tight, sandbox, "hubspot")
    first = customer.write("contacts", {"type": "create", "record": {"email": "old@example.com"}})
    assert first.status_code == 200
    time.sleep(0.1)
    # the lost attempt is refused as a duplicate; its resend is refused too, naming a record
    # created long before the attempt: that is not this write's record
    with _clock_moved_past_skew(customer):
        customer.faults(failNext=["drop_after_write"])
        again = customer.write(
            "contacts", {"type": "create", "record": {"email": "old@example.com"}}
        )
    assert again.status_code == 422, again.text
    assert "already exists" in again.json()["errors"][0]["message"]
    assert len(customer.records("contacts")) == 1


@contextmanager
def _clock_moved_past_skew(customer: Customer) -> Iterator[None]:
    """Make the portal's existing records look years old (the sandbox has no admin API to
    backdate a record; its in-process state is reachable from the test)."""
    portal = customer.sandbox.app.registry.tenants[customer.tenant["tenantId"]].state
    for table in portal.store.tables.values():
        for record in table.values():
            record.created = "2020-01-01T00:00:00.000Z"
    yield


def test_async_lost_creates_recover_in_the_worker(tight: Server, sandbox: Sandbox) -> None:
    matched = salesforce_with_reconcile(tight, sandbox)
    matched.faults(failNext=["drop_after_write"])
    found = matched.write(
        "contact",
        {"type": "create", "mode": "asynchronous", "record": {"LastName": "A", "Email": "a@x.io"}},
    ).json()["operationId"]
    assert wait_for(matched, found)["status"] == "success"
    assert len(matched.records("Contact")) == 1
    unmatched = new_customer(tight, sandbox, "hubspot")
    unmatched.faults(failNext=["timeout_after_write"], timeoutSeconds=6)
    unknown = unmatched.write(
        "companies", {"type": "create", "mode": "asynchronous", "record": {"name": "B"}}
    ).json()["operationId"]
    operation = wait_for(unmatched, unknown)
    assert operation["status"] == "failure"
    assert operation["metadata"]["errorCode"] == "outcome_unknown"
    assert len(unmatched.records("companies")) == 1


def test_a_batch_whose_answer_was_lost_is_reconciled_record_by_record(
    tight: Server, sandbox: Sandbox
) -> None:
    customer = salesforce_with_reconcile(tight, sandbox)
    customer.faults(failNext=["drop_after_write"])
    batch = [{"record": {"LastName": f"B{i}", "Email": f"b{i}@example.com"}} for i in range(5)] + [
        {"record": {"LastName": "NoEmail"}}
    ]
    written = customer.write("contact", {"type": "create", "batch": batch})
    assert written.status_code == 200, written.text
    body = written.json()
    assert body["successCount"] == 5 and body["failureCount"] == 1
    assert body["results"][5]["errors"][0]["code"] == "OUTCOME_UNKNOWN"  # no Email to look by
    assert len(customer.records("Contact")) == 6  # all written once by the lost attempt


def test_updates_and_deletes_are_sent_again(tight: Server, sandbox: Sandbox) -> None:
    customer = salesforce_with_reconcile(tight, sandbox)
    created = customer.write("contact", {"type": "create", "record": {"LastName": "U"}})
    record_id = created.json()["result"]["recordId"]
    customer.faults(failNext=["drop_after_write"])
    updated = customer.write(
        "contact", {"type": "update", "record": {"id": record_id, "LastName": "V"}}
    )
    assert updated.status_code == 200, updated.text
    assert customer.record("Contact", record_id)["LastName"] == "V"
    assert customer.stats().get("sobject.update") == 2  # idempotent: simply sent again
    customer.faults(failNext=["drop_after_write"])
    deleted = customer.write("contact", {"type": "delete", "record": {"id": record_id}})
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["result"]["success"] is True  # found gone: the lost attempt did it
    assert customer.records("Contact") == []


def test_at_least_once_projects_resend_unknown_creates(tight: Server, sandbox: Sandbox) -> None:
    customer = new_customer(tight, sandbox, "salesforce")
    changed = customer.api.patch(
        customer.p,
        json={
            "updateMask": ["deliveryPolicy"],
            "project": {"deliveryPolicy": {"unknownCreateOutcome": "resend"}},
        },
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["deliveryPolicy"] == {"unknownCreateOutcome": "resend"}
    customer.faults(failNext=["drop_after_write"])
    written = customer.write("account", {"type": "create", "record": {"companyName": "Twice"}})
    assert written.status_code == 200, written.text
    assert written.json()["warnings"][0]["code"] == "RESENT_UNKNOWN"
    # the price of at-least-once, as documented: the lost attempt's record and the resend
    assert [r["Name"] for r in customer.records("Account")] == ["Twice", "Twice"]


# --- the database away during a synchronous write -----------------------------------------


@contextmanager
def database_locked(server: Server) -> Iterator[None]:
    """Hold the database's write lock from outside writeback for as long as the block runs."""
    url = server.settings.database_url
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("///", 1)[1], timeout=30, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    ready, release = threading.Event(), threading.Event()

    async def hold() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        async with conn.transaction():
            await conn.execute("LOCK TABLE operation IN ACCESS EXCLUSIVE MODE")
            ready.set()
            while not release.is_set():
                await asyncio.sleep(0.02)
        await conn.close()

    holder = threading.Thread(target=lambda: asyncio.run(hold()))
    holder.start()
    assert ready.wait(10)
    try:
        yield
    finally:
        release.set()
        holder.join(10)


def test_no_provider_call_when_the_intent_cannot_be_recorded(
    tight: Server, sandbox: Sandbox
) -> None:
    customer = new_customer(tight, sandbox, "salesforce")
    with database_locked(tight):
        started = time.monotonic()
        refused = customer.write("account", {"type": "create", "record": {"companyName": "No"}})
        waited = time.monotonic() - started
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["code"] == "store_unavailable" and refused.json()["retryable"]
    assert waited < 30  # bounded: it did not hang on the lock
    assert customer.records("Account") == []  # nothing was sent
    assert "sobject.create" not in customer.stats()
    # once the database is back, the write goes through, and nothing of the refused one runs
    ok = customer.write("account", {"type": "create", "record": {"companyName": "Yes"}})
    assert ok.status_code == 200, ok.text
    time.sleep(2.5)  # two leases: a leftover claim of the refused write would be taken over
    assert [r["Name"] for r in customer.records("Account")] == ["Yes"]


# --- every job ends; failed ones can be replayed ---------------------------------------------


def test_a_job_that_keeps_failing_ends_and_can_be_replayed(tight: Server, sandbox: Sandbox) -> None:
    customer = new_customer(tight, sandbox, "hubspot")
    customer.faults(serverErrorRate=1.0)
    operation_id = customer.write(
        "companies", {"type": "create", "mode": "asynchronous", "record": {"name": "Later"}}
    ).json()["operationId"]
    failed = wait_for(customer, operation_id)
    assert failed["status"] == "failure"
    assert failed["metadata"]["retry"]["attempts"] == 4  # the tight server's max_attempts
    customer.faults()
    # the CLI's `operations retry` calls POST …/operations/{id}:retry
    replayed = subprocess.run(
        [sys.executable, "-m", "writeback", "operations", "retry", operation_id, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "WRITEBACK_URL": tight.url,
            "WRITEBACK_API_KEY": customer.api.headers["X-Api-Key"],
            "WRITEBACK_PROJECT": customer.project["id"],
        },
    )
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout)["status"] == "in_progress"
    done = wait_for(customer, operation_id)
    assert done["status"] == "success"
    assert [r["properties"]["name"] for r in customer.records("companies")] == ["Later"]
    logs = messages(customer, operation_id)
    assert any("replay requested" in m for m in logs)  # on the same operation
    again = customer.api.post(f"{customer.p}/operations/{operation_id}:retry")
    assert again.status_code == 409  # only failed operations are replayed


def test_an_unexpected_error_is_retried_then_fails_with_its_class(
    tight: Server, sandbox: Sandbox
) -> None:
    customer = new_customer(tight, sandbox, "hubspot")
    # damage the stored credentials behind writeback's back: decrypting them now raises
    asyncio.run(_corrupt_credentials(tight, customer.connection["id"]))
    operation_id = customer.write(
        "companies", {"type": "create", "mode": "asynchronous", "record": {"name": "Broken"}}
    ).json()["operationId"]
    failed = wait_for(customer, operation_id)
    assert failed["status"] == "failure", failed
    logs = messages(customer, operation_id)
    crashes = [m for m in logs if "unexpected SecretKeyError" in m]
    assert len(crashes) == 4  # retried with backoff up to max_attempts, then failed
    assert any("giving up" in m for m in logs)
    assert customer.records("companies") == []


async def _corrupt_credentials(server: Server, connection_id: str) -> None:
    from sqlalchemy import update

    from writeback.store.engine import create_engine
    from writeback.store.tables import Connection

    engine = create_engine(server.settings.database_url)
    async with engine.begin() as conn:
        await conn.execute(
            update(Connection)
            .where(Connection.id == connection_id)
            .values(credentials_encrypted="gAAAAA-not-a-token")
        )
    await engine.dispose()

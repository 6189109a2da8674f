"""Asynchronous writes: accepted at once, executed by the worker, retried until the deadline,
auto-batched."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from conftest import Sandbox, Server
from writes.write_support import Customer, new_customer, wait_for


def accept(customer: Customer, object_name: str, body: dict[str, Any]) -> str:
    response = customer.write(object_name, {"mode": "asynchronous", **body})
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"operationId"}
    return str(response.json()["operationId"])


def test_async_create_is_accepted_then_written(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "hubspot")
    operation_id = accept(customer, "companies", {"type": "create", "record": {"name": "Later"}})
    operation = wait_for(customer, operation_id)
    assert operation["status"] == "success"
    assert operation["metadata"]["retry"]["attempts"] == 1
    (record_id,) = operation["metadata"]["successfulRecordIds"]
    assert customer.record("companies", record_id)["properties"]["name"] == "Later"
    installation = customer.api.get(f"{customer.p}/installations").json()[0]
    assert installation["lastOperationStatus"] == "success"


def test_async_batch_records_each_outcome(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "salesforce")
    operation_id = accept(
        customer,
        "contact",
        {
            "type": "create",
            "batch": [{"record": {"LastName": "A"}}, {"record": {"FirstName": "no last"}}],
        },
    )
    operation = wait_for(customer, operation_id)
    assert operation["status"] == "success"  # partial success is success
    records = operation["metadata"]["records"]
    assert [r["success"] for r in records] == [True, False]
    assert records[1]["errors"][0]["code"] == "REQUIRED_FIELD_MISSING"
    assert operation["metadata"]["successfulRecordIds"] == [records[0]["recordId"]]


def test_rate_limits_and_outages_are_retried(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "hubspot")
    customer.faults(failNext=["rate_limited", "unavailable", "drop"], retryAfterSeconds=0)
    # a contact: its email is unique in HubSpot, so the dropped attempt can be settled
    operation_id = accept(
        customer, "contacts", {"type": "create", "record": {"email": "stubborn@example.com"}}
    )
    operation = wait_for(customer, operation_id)
    assert operation["status"] == "success", operation
    assert operation["metadata"]["retry"]["attempts"] == 4
    messages = [line["message"]["msg"] for line in customer.logs(operation_id)]
    assert sum("retrying in" in m for m in messages) == 3
    assert any("attempt 3 got no answer" in m for m in messages)  # the drop
    emails = [r["properties"]["email"] for r in customer.records("contacts")]
    assert emails == ["stubborn@example.com"]  # written once


def test_a_create_whose_answer_was_lost_is_not_resent_blindly(
    stack: Server, sandbox: Sandbox
) -> None:
    customer = new_customer(stack, sandbox, "hubspot")
    customer.faults(failNext=["drop_after_write"])
    operation_id = accept(customer, "companies", {"type": "create", "record": {"name": "Once"}})
    operation = wait_for(customer, operation_id)
    # companies have no unique property and the installation declares no reconcileFields
    assert operation["status"] == "failure", operation
    assert operation["metadata"]["errorCode"] == "outcome_unknown"
    names = [r["properties"]["name"] for r in customer.records("companies")]
    assert names == ["Once"]  # the lost attempt wrote it; nothing wrote it again


def test_retry_after_is_honoured(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "hubspot")
    customer.faults(failNext=["rate_limited"], retryAfterSeconds=1)
    started = time.monotonic()
    operation_id = accept(customer, "companies", {"type": "create", "record": {"name": "Patient"}})
    operation = wait_for(customer, operation_id)
    assert operation["status"] == "success"
    assert time.monotonic() - started >= 1.0  # waited as long as the provider asked


def test_token_expiring_mid_run_and_salesforce_outage(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "salesforce")
    sandbox.admin.post(f"/_sandbox/tenants/{customer.tenant['tenantId']}/tokens/expire", json={})
    customer.faults(failNext=["unavailable"])
    operation_id = accept(customer, "contact", {"type": "create", "record": {"LastName": "T"}})
    operation = wait_for(customer, operation_id)
    assert operation["status"] == "success", operation
    assert customer.stats().get("oauth.token") == 1


def test_provider_rejection_fails_at_once(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "salesforce")
    operation_id = accept(customer, "contact", {"type": "create", "record": {"FirstName": "X"}})
    operation = wait_for(customer, operation_id)
    assert operation["status"] == "failure"
    assert operation["metadata"]["retry"]["attempts"] == 1
    assert "LastName" in operation["result"]


def test_retries_stop_at_the_deadline(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "hubspot")
    customer.faults(unavailableRate=1.0, retryAfterSeconds=0)
    operation_id = accept(
        customer,
        "companies",
        {"type": "create", "record": {"name": "Never"}, "retryPolicy": {"deadlineHours": 1}},
    )
    # bring the one-hour deadline forward to now + 1 s, straight in the queue
    import asyncio

    from sqlalchemy import update

    from writeback.store.engine import create_engine
    from writeback.store.tables import WriteJob

    async def shorten() -> None:
        engine = create_engine(stack.settings.database_url)
        async with engine.begin() as conn:
            await conn.execute(
                update(WriteJob)
                .where(WriteJob.operation_id == operation_id)
                .values(deadline_at=datetime.now(UTC) + timedelta(seconds=1))
            )
        await engine.dispose()

    asyncio.run(shorten())
    operation = wait_for(customer, operation_id)
    assert operation["status"] == "failure"
    assert operation["metadata"]["retry"]["attempts"] >= 2
    messages = [line["message"]["msg"] for line in customer.logs(operation_id)]
    assert any("deadline" in m for m in messages)
    customer.faults()


def test_auto_batching_groups_single_writes(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "hubspot")
    # 8 "minutes" = 4 s here: long enough to post 130 requests, short enough to wait for
    policy = {"maxDelayMinutes": 8, "retryDeadlineHours": 2}
    with httpx.Client(base_url=stack.url + "/v1", headers=dict(customer.api.headers)) as client:
        path = f"{customer.p}/integrations/{customer.integration['id']}/objects/companies"
        ids = []
        for i in range(130):
            response = client.post(
                path,
                json={
                    "groupRef": customer.group_ref,
                    "type": "create",
                    "mode": "asynchronous",
                    "autoBatchPolicy": policy,
                    "record": {"name": f"company {i}"},
                },
            )
            assert response.status_code == 200, response.text
            ids.append(response.json()["operationId"])
    first, second = ids[0], ids[100]
    assert set(ids[:100]) == {first} and set(ids[100:]) == {second} and first != second
    full = wait_for(customer, first)
    assert full["status"] == "success" and len(full["metadata"]["successfulRecordIds"]) == 100
    assert full["result"] == "Batch write completed (100 succeeded, 0 failed)"
    rest = wait_for(customer, second)  # flushed by its delay, not by size
    assert len(rest["metadata"]["successfulRecordIds"]) == 30
    stats = customer.stats()
    assert stats.get("batch.create") == 2 and "objects.create" not in stats
    assert len(customer.records("companies")) == 130

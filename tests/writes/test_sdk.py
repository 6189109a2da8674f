"""The Python SDK (writeback.client) against a real server and the provider emulators:
typed results for creates, updates, batches and deletes, and typed errors for each refusal."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from conftest import Sandbox, Server
from writeback.client import (
    AsyncWritebackClient,
    AuthenticationError,
    BatchRejected,
    BatchWriteResult,
    ConflictError,
    Issue,
    NotFoundError,
    ReconnectRequired,
    RecordOutcome,
    RequestRejected,
    WritebackClient,
    WritebackError,
    WriteRejected,
    WriteResult,
)
from writes.write_support import Customer, new_customer

ENABLE_DELETES = [{"op": "add", "path": "/deletionSettings", "value": {"enabled": True}}]


def salesforce(stack: Server, sandbox: Sandbox) -> Customer:
    return new_customer(stack, sandbox, "salesforce")


def hubspot(stack: Server, sandbox: Sandbox) -> Customer:
    return new_customer(stack, sandbox, "hubspot")


def api_key(customer: Customer) -> str:
    return str(customer.api.headers["X-Api-Key"])


def sync_client(customer: Customer, key: str | None = None) -> WritebackClient:
    return WritebackClient(
        customer.stack.url, api_key=key or api_key(customer), project=customer.project["id"]
    )


def async_client(customer: Customer, key: str | None = None) -> AsyncWritebackClient:
    return AsyncWritebackClient(
        customer.stack.url, api_key=key or api_key(customer), project=customer.project["id"]
    )


def tenant_counts(customer: Customer) -> dict[str, Any]:
    """Live records per provider object, and how many requests the provider has served."""
    body = customer.sandbox.admin.get(f"/_sandbox/tenants/{customer.tenant['tenantId']}").json()
    return {"objects": body["objects"], "requests": body["requests"]}


def break_connection(customer: Customer) -> None:
    """The customer revoked the app: the refresh token is dead and the access token expired."""
    tenant = customer.tenant["tenantId"]
    revoked = customer.sandbox.admin.post(f"/_sandbox/tenants/{tenant}/tokens/revoke", json={})
    assert revoked.status_code == 200 and revoked.json()["revoked"] >= 1, revoked.text
    expired = customer.sandbox.admin.post(f"/_sandbox/tenants/{tenant}/tokens/expire", json={})
    assert expired.status_code == 200 and expired.json()["expired"] >= 1, expired.text


# --- successes: WritebackClient against Salesforce ------------------------------------------


def test_sync_create_update_delete(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    customer.patch_object("contact", ENABLE_DELETES)
    with sync_client(customer) as client:
        created = client.write(
            customer.integration["id"],
            "contact",
            group_ref=customer.group_ref,
            type="create",
            record={"FirstName": "Harry", "LastName": "Potter"},
        )
        assert isinstance(created, WriteResult)
        assert created.record_id and created.record_id.startswith("003")
        assert customer.record("contact", created.record_id)["Name"] == "Harry Potter"
        operation = client.operation(created.operation_id)
        assert operation["status"] == "success"
        assert operation["metadata"]["successfulRecordIds"] == [created.record_id]

        updated = client.write(
            "sf",  # by name, as the docs allow
            "contact",
            group_ref=customer.group_ref,
            type="update",
            record={"id": created.record_id, "LastName": "Granger"},
        )
        assert isinstance(updated, WriteResult)
        assert updated.record_id == created.record_id
        assert updated.operation_id != created.operation_id
        assert customer.record("contact", created.record_id)["LastName"] == "Granger"

        deleted = client.write(
            "sf",
            "contact",
            group_ref=customer.group_ref,
            type="delete",
            record={"id": created.record_id},
        )
        assert isinstance(deleted, WriteResult)
        assert deleted.record_id == created.record_id
    assert customer.record("contact", created.record_id)["IsDeleted"] is True
    assert customer.records("contact") == []


def test_sync_batch_with_a_failing_record(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    with sync_client(customer) as client:
        result = client.write(
            "sf",
            "contact",
            group_ref=customer.group_ref,
            type="create",
            batch=[{"LastName": "One"}, {"FirstName": "NoLastName"}, {"LastName": "Three"}],
        )
        assert isinstance(result, BatchWriteResult)
        assert (result.success_count, result.failure_count) == (2, 1)
        assert [r.success for r in result.results] == [True, False, True]
        assert all(isinstance(r, RecordOutcome) for r in result.results)
        failed = result.results[1]
        assert failed.record_id is None
        assert failed.errors and isinstance(failed.errors[0], Issue)
        assert failed.errors[0].code == "REQUIRED_FIELD_MISSING"
        assert "LastName" in failed.errors[0].message
        assert result.results[0].errors == []
        written = {
            r.record_id: customer.record("contact", str(r.record_id))["LastName"]
            for r in result.results
            if r.success
        }
        assert sorted(written.values()) == ["One", "Three"]
        assert len(customer.records("contact")) == 2

        # batch update: items in {"record": ...} form, one with an id the org does not have
        first = str(result.results[0].record_id)
        updated = client.write(
            "sf",
            "contact",
            group_ref=customer.group_ref,
            type="update",
            batch=[
                {"record": {"id": first, "LastName": "Uno"}},
                {"record": {"id": "003000000000000AAA", "LastName": "Ghost"}},
            ],
        )
        assert isinstance(updated, BatchWriteResult)
        assert (updated.success_count, updated.failure_count) == (1, 1)
        assert updated.results[0].record_id == first
        assert updated.results[1].errors
    assert customer.record("contact", first)["LastName"] == "Uno"


# --- successes: AsyncWritebackClient against HubSpot ---------------------------------------


async def test_async_create_update_delete(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(stack, sandbox)
    customer.patch_object("companies", ENABLE_DELETES)
    async with async_client(customer) as client:
        created = await client.write(
            customer.integration["id"],
            "companies",
            group_ref=customer.group_ref,
            type="create",
            record={"name": "Hogwarts", "domain": "hogwarts.edu"},
        )
        assert isinstance(created, WriteResult)
        assert created.record_id
        assert created.data and created.data["properties"]["name"] == "Hogwarts"
        assert customer.record("companies", created.record_id)["properties"]["domain"] == (
            "hogwarts.edu"
        )
        assert (await client.operation(created.operation_id))["status"] == "success"

        updated = await client.write(
            "hs",
            "companies",
            group_ref=customer.group_ref,
            type="update",
            record={"id": created.record_id, "domain": "hogwarts.ac.uk"},
        )
        assert isinstance(updated, WriteResult)
        assert updated.record_id == created.record_id
        assert customer.record("companies", created.record_id)["properties"]["domain"] == (
            "hogwarts.ac.uk"
        )

        deleted = await client.write(
            "hs",
            "companies",
            group_ref=customer.group_ref,
            type="delete",
            record={"id": created.record_id},
        )
        assert isinstance(deleted, WriteResult)
        assert deleted.record_id == created.record_id
    assert customer.record("companies", created.record_id)["archived"] is True


async def test_async_batch_with_a_failing_record(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(stack, sandbox)
    async with async_client(customer) as client:
        await client.write(
            "hs",
            "contacts",
            group_ref=customer.group_ref,
            type="create",
            record={"email": "taken@example.com"},
        )
        result = await client.write(
            "hs",
            "contacts",
            group_ref=customer.group_ref,
            type="create",
            batch=[
                {"email": "new1@example.com"},
                {"email": "taken@example.com"},
                {"email": "new2@example.com"},
            ],
        )
    assert isinstance(result, BatchWriteResult)
    assert (result.success_count, result.failure_count) == (2, 1)
    assert [r.success for r in result.results] == [True, False, True]
    assert "already exists" in result.results[1].errors[0].message
    for outcome in (result.results[0], result.results[2]):
        assert outcome.record_id
        assert outcome.data and outcome.data["email"].startswith("new")
        stored = customer.record("contacts", outcome.record_id)
        assert stored["properties"]["email"] == outcome.data["email"]
    assert len(customer.records("contacts")) == 3


# --- typed errors ----------------------------------------------------------------------------


def test_request_rejected_names_the_field(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    before = tenant_counts(customer)
    with sync_client(customer) as client, pytest.raises(RequestRejected) as caught:
        client.write(
            "sf",
            "contact",
            group_ref=customer.group_ref,
            type="update",
            record={"LastName": "NoId"},
        )
    error = caught.value
    assert isinstance(error, WritebackError)
    assert error.status == 400
    assert [i["name"] for i in error.issues] == ["record.id"]
    assert error.remedy and '"id"' in error.remedy
    assert error.request_id
    assert "record.id" in str(error)
    assert tenant_counts(customer) == before


async def test_async_request_rejected_in_a_batch(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(stack, sandbox)
    before = tenant_counts(customer)
    async with async_client(customer) as client:
        with pytest.raises(RequestRejected) as caught:
            await client.write(
                "hs",
                "contacts",
                group_ref=customer.group_ref,
                type="update",
                batch=[{"id": "1", "firstname": "A"}, {"firstname": "B"}],
            )
    assert caught.value.status == 400
    assert [i["name"] for i in caught.value.issues] == ["batch[1].record.id"]
    assert tenant_counts(customer) == before


async def test_not_found_errors(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(stack, sandbox)
    before = tenant_counts(customer)
    async with async_client(customer) as client:
        with pytest.raises(NotFoundError) as no_object:
            await client.write(
                "hs",
                "tickets",
                group_ref=customer.group_ref,
                type="create",
                record={"subject": "x"},
            )
        with pytest.raises(NotFoundError) as no_integration:
            await client.write(
                str(uuid.uuid4()),
                "companies",
                group_ref=customer.group_ref,
                type="create",
                record={"name": "x"},
            )
        with pytest.raises(NotFoundError) as no_group:
            await client.write(
                "hs", "companies", group_ref="nobody", type="create", record={"name": "x"}
            )
        with pytest.raises(NotFoundError) as no_operation:
            await client.operation(str(uuid.uuid4()))
    assert no_object.value.status == 404
    assert no_object.value.remedy and "companies" in no_object.value.remedy
    assert no_object.value.problem["issues"][0]["name"] == "objectName"
    assert "Integration" in str(no_integration.value)
    assert no_group.value.problem["issues"][0]["name"] == "groupRef"
    assert no_operation.value.status == 404
    assert tenant_counts(customer) == before


def test_conflict_when_deletes_are_not_enabled(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(stack, sandbox)
    with sync_client(customer) as client:
        deal = client.write(
            "hs", "deals", group_ref=customer.group_ref, type="create", record={"dealname": "Big"}
        )
        assert isinstance(deal, WriteResult) and deal.record_id
        with pytest.raises(ConflictError) as caught:
            client.write(
                "hs",
                "deals",
                group_ref=customer.group_ref,
                type="delete",
                record={"id": deal.record_id},
            )
    assert caught.value.status == 409
    assert caught.value.remedy and "deletionSettings" in caught.value.remedy
    assert customer.record("deals", deal.record_id)["archived"] is False


def test_write_rejected_single_record(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    with sync_client(customer) as client:
        with pytest.raises(WriteRejected) as caught:
            client.write(
                "sf",
                "contact",
                group_ref=customer.group_ref,
                type="create",
                record={"FirstName": "NoLastName"},
            )
        error = caught.value
        assert error.status == 422
        assert error.errors[0].code == "REQUIRED_FIELD_MISSING"
        assert "LastName" in error.errors[0].message
        assert "Required fields are missing" in str(error)
        assert error.raw_response and "REQUIRED_FIELD_MISSING" in error.raw_response
        assert error.retryable is False
        operation = client.operation(error.operation_id)
    assert operation["status"] == "failure"
    assert operation["id"] == error.operation_id
    assert customer.records("contact") == []


async def test_async_write_rejected_single_record(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(stack, sandbox)
    async with async_client(customer) as client:
        with pytest.raises(WriteRejected) as caught:
            await client.write(
                "hs",
                "companies",
                group_ref=customer.group_ref,
                type="update",
                record={"id": "999999999", "name": "Nobody"},
            )
        error = caught.value
        operation = await client.operation(error.operation_id)
    assert error.status == 422
    assert error.errors and error.errors[0].code == "OBJECT_NOT_FOUND"
    assert error.raw_response and "OBJECT_NOT_FOUND" in error.raw_response
    assert operation["status"] == "failure"


def test_batch_rejected_when_every_record_fails(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    with sync_client(customer) as client:
        with pytest.raises(BatchRejected) as caught:
            client.write(
                "sf",
                "contact",
                group_ref=customer.group_ref,
                type="create",
                batch=[{"FirstName": "A"}, {"FirstName": "B"}],
            )
        error = caught.value
        operation = client.operation(error.operation_id)
    assert error.status == 422
    assert isinstance(error.result, BatchWriteResult)
    assert (error.result.success_count, error.result.failure_count) == (0, 2)
    assert [r.success for r in error.result.results] == [False, False]
    assert all(r.errors[0].code == "REQUIRED_FIELD_MISSING" for r in error.result.results)
    assert error.operation_id == error.result.operation_id
    assert "LastName" in str(error)
    assert operation["status"] == "failure"
    assert customer.records("contact") == []


async def test_async_batch_rejected_all_or_none(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(stack, sandbox)
    async with async_client(customer) as client:
        await client.write(
            "hs",
            "contacts",
            group_ref=customer.group_ref,
            type="create",
            record={"email": "taken@example.com"},
        )
        with pytest.raises(BatchRejected) as caught:
            await client.write(
                "hs",
                "contacts",
                group_ref=customer.group_ref,
                type="create",
                batch=[{"email": "fresh@example.com"}, {"email": "taken@example.com"}],
                all_or_none=True,
            )
    result = caught.value.result
    assert (result.success_count, result.failure_count) == (0, 2)
    assert all(not r.success and r.errors for r in result.results)
    emails = [r["properties"]["email"] for r in customer.records("contacts")]
    assert emails == ["taken@example.com"]


def test_authentication_error(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    client = sync_client(customer, key="wb_not_a_real_key")
    with client, pytest.raises(AuthenticationError) as caught:
        client.write(
            "sf",
            "contact",
            group_ref=customer.group_ref,
            type="create",
            record={"LastName": "X"},
        )
    assert caught.value.status == 401
    assert caught.value.remedy
    assert "not valid" in str(caught.value)
    assert customer.records("contact") == []


async def test_async_authentication_error(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(stack, sandbox)
    async with async_client(customer, key="wb_not_a_real_key") as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.write(
                "hs",
                "companies",
                group_ref=customer.group_ref,
                type="create",
                record={"name": "X"},
            )
    assert caught.value.status == 401
    assert customer.records("companies") == []


def test_reconnect_required(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    break_connection(customer)
    with sync_client(customer) as client:
        with pytest.raises(ReconnectRequired) as caught:
            client.write(
                "sf",
                "contact",
                group_ref=customer.group_ref,
                type="create",
                record={"LastName": "Lost"},
            )
        error = caught.value
        assert error.status == 424
        assert error.operation_id
        operation = client.operation(error.operation_id)
    assert operation["status"] == "failure"
    assert error.remedy and "reconnect" in error.remedy
    assert customer.get_connection()["status"] == "bad_credentials"
    assert customer.records("contact") == []


async def test_async_reconnect_required(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(stack, sandbox)
    break_connection(customer)
    async with async_client(customer) as client:
        with pytest.raises(ReconnectRequired) as caught:
            await client.write(
                "hs",
                "companies",
                group_ref=customer.group_ref,
                type="create",
                record={"name": "Lost"},
            )
        error = caught.value
        operation = await client.operation(str(error.operation_id))
    assert error.status == 424
    assert operation["id"] == error.operation_id
    assert operation["status"] == "failure"
    assert customer.get_connection()["status"] == "bad_credentials"
    assert customer.records("companies") == []

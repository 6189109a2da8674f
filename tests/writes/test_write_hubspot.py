"""The Write API against the HubSpot emulator: creates, updates, deletes, batches, associations."""

from __future__ import annotations

from typing import Any

from conftest import Sandbox, Server
from writes.write_support import Customer, new_customer

ASSOCIATE_279 = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}


def hubspot(stack: Server, sandbox: Sandbox, **options: Any) -> Customer:
    return new_customer(stack, sandbox, "hubspot", **options)


def test_create_returns_the_record_and_records_an_operation(
    stack: Server, sandbox: Sandbox
) -> None:
    customer = hubspot(stack, sandbox)
    response = customer.write(
        "companies", {"type": "create", "record": {"name": "Hogwarts", "domain": "hogwarts.edu"}}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    record_id = body["result"]["recordId"]
    assert body["result"]["success"] is True
    assert body["result"]["data"]["properties"]["name"] == "Hogwarts"
    stored = customer.record("companies", record_id)
    assert stored["properties"]["domain"] == "hogwarts.edu"
    operation = customer.operation(body["operationId"])
    assert operation["actionType"] == "write" and operation["status"] == "success"
    assert operation["metadata"]["successfulRecordIds"] == [record_id]
    assert operation["installationId"] == customer.installation["id"]
    logs = customer.logs(body["operationId"])
    assert logs and logs[0]["message"]["operation_id"] == body["operationId"]
    connection = customer.get_connection()
    assert connection["status"] == "working"
    installation = customer.api.get(
        f"{customer.p}/installations", params={"groupRef": customer.group_ref}
    ).json()[0]
    assert installation["lastOperationStatus"] == "success"


def test_create_with_association_279_inline(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(stack, sandbox)
    company = customer.write("companies", {"type": "create", "record": {"name": "Hogwarts"}})
    company_id = company.json()["result"]["recordId"]
    response = customer.write(
        "contacts",
        {
            "type": "create",
            "record": {"firstname": "Harry", "lastname": "Potter", "email": "harry@hogwarts.com"},
            "associations": [{"to": {"id": company_id}, "types": [ASSOCIATE_279]}],
        },
    )
    assert response.status_code == 200, response.text
    contact_id = response.json()["result"]["recordId"]
    associated = sandbox.admin.get(
        f"/_sandbox/tenants/{customer.tenant['tenantId']}/records/contacts/{contact_id}"
    )
    assert associated.status_code == 200
    # the association is real: HubSpot's own v4 read shows it
    listed = customer_http(customer).get(
        f"/crm/v4/objects/contacts/{contact_id}/associations/companies"
    )
    assert listed.status_code == 200, listed.text
    types = listed.json()["results"][0]["associationTypes"]
    assert listed.json()["results"][0]["toObjectId"] == int(company_id)
    assert any(t["typeId"] == 279 for t in types)


def customer_http(customer: Customer):  # type: ignore[no-untyped-def]
    import httpx

    return httpx.Client(
        base_url=customer.sandbox.url,
        headers={"Authorization": f"Bearer {customer.tenant['accessToken']}"},
    )


def test_update_and_mapping_inherited_from_read(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(
        stack,
        sandbox,
        read_objects={
            "contacts": {
                "objectName": "contacts",
                "selectedFields": {},
                "selectedFieldMappings": {"notes": "jobtitle"},
            }
        },
    )
    created = customer.write(
        "contacts",
        {
            "type": "create",
            "record": {
                "email": "ada@example.com",
                "phone": "+1 555",
                "notes": "VIP",
                "pronoun": "she",
            },
        },
    )
    assert created.status_code == 200, created.text
    record_id = created.json()["result"]["recordId"]
    properties = customer.record("contacts", record_id)["properties"]
    assert properties["mobilephone"] == "+1 555"  # static mapping phone → mobilephone
    assert properties["jobtitle"] == "VIP"  # the customer's mapping notes → jobtitle
    assert "pronoun" not in properties  # unmapped optional mapping: dropped
    updated = customer.write(
        "people", {"type": "update", "record": {"id": record_id, "phone": "+1 666"}}
    )  # written by the read object's mapped name
    assert updated.status_code == 200, updated.text
    assert updated.json()["result"]["recordId"] == record_id
    assert customer.record("contacts", record_id)["properties"]["mobilephone"] == "+1 666"


def test_delete_needs_deletion_enabled(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(stack, sandbox)
    record_id = customer.write("deals", {"type": "create", "record": {"dealname": "Big"}}).json()[
        "result"
    ]["recordId"]
    refused = customer.write("deals", {"type": "delete", "record": {"id": record_id}})
    assert refused.status_code == 409
    assert "deletionSettings" in refused.json()["remedy"]
    customer.patch_object(
        "deals", [{"op": "add", "path": "/deletionSettings", "value": {"enabled": True}}]
    )
    deleted = customer.write("deals", {"type": "delete", "record": {"id": record_id}})
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["result"] == {"success": True, "recordId": record_id}
    assert customer.record("deals", record_id)["archived"] is True  # HubSpot archives


def test_batch_create_partial_success(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(stack, sandbox)
    customer.write("contacts", {"type": "create", "record": {"email": "taken@example.com"}})
    response = customer.write(
        "contacts",
        {
            "type": "create",
            "batch": [
                {"record": {"email": "new1@example.com"}},
                {"record": {"email": "taken@example.com"}},
                {"record": {"email": "new2@example.com"}},
            ],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["successCount"], body["failureCount"]) == (2, 1)
    results = body["results"]
    assert [r["success"] for r in results] == [True, False, True]
    assert "already exists" in results[1]["errors"][0]["message"]
    emails = {r["properties"]["email"] for r in customer.records("contacts")}
    assert {"new1@example.com", "new2@example.com"} <= emails
    assert customer.stats().get("batch.create") == 1  # one provider call for the batch


def test_batch_create_all_or_none_writes_nothing(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(stack, sandbox)
    customer.write("contacts", {"type": "create", "record": {"email": "taken@example.com"}})
    before = len(customer.records("contacts"))
    response = customer.write(
        "contacts",
        {
            "type": "create",
            "batchPolicy": {"allOrNone": True},
            "batch": [
                {"record": {"email": "x1@example.com"}},
                {"record": {"email": "taken@example.com"}},
            ],
        },
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert (body["successCount"], body["failureCount"]) == (0, 2)
    # HubSpot does not say which record sank the batch: each record says the batch was refused
    assert all("refused the whole batch" in r["errors"][0]["message"] for r in body["results"])
    assert any("already exists" in e["message"] for e in body["errors"])
    assert len(customer.records("contacts")) == before


def test_batch_update_is_partial_and_associates_after(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(stack, sandbox)
    company = customer.write("companies", {"type": "create", "record": {"name": "Acme"}})
    company_id = company.json()["result"]["recordId"]
    ids = [
        customer.write("contacts", {"type": "create", "record": {"email": f"u{i}@x.com"}}).json()[
            "result"
        ]["recordId"]
        for i in range(2)
    ]
    response = customer.write(
        "contacts",
        {
            "type": "update",
            "batch": [
                {
                    "record": {"id": ids[0], "firstname": "One"},
                    "associations": [{"to": {"id": company_id}, "types": [ASSOCIATE_279]}],
                },
                {"record": {"id": "999999999", "firstname": "Nobody"}},
                {"record": {"id": ids[1], "firstname": "Two"}},
            ],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["success"] for r in body["results"]] == [True, False, True]
    assert customer.record("contacts", ids[0])["properties"]["firstname"] == "One"
    listed = customer_http(customer).get(
        f"/crm/v4/objects/contacts/{ids[0]}/associations/companies"
    )
    assert listed.json()["results"][0]["toObjectId"] == int(company_id)


def test_headers_are_refused(stack: Server, sandbox: Sandbox) -> None:
    # HubSpot documents no request header for writes (writes/forwarded_headers.py)
    customer = hubspot(stack, sandbox)
    response = customer.write(
        "companies",
        {"type": "create", "record": {"name": "X"}, "headers": [{"key": "X-Test", "value": "1"}]},
    )
    assert response.status_code == 400, response.text
    assert response.json()["issues"][0]["name"] == "headers[0].key"
    assert "takes no forwarded headers" in response.json()["remedy"]


def test_provider_validation_error_is_a_422_with_raw_response(
    stack: Server, sandbox: Sandbox
) -> None:
    customer = hubspot(stack, sandbox)
    response = customer.write("companies", {"type": "create", "record": {"no_such_prop": "x"}})
    assert response.status_code == 422
    body = response.json()
    assert body["result"] == {"success": False}
    assert "does not exist" in body["errors"][0]["message"]
    assert "PROPERTY_DOESNT_EXIST" in body["rawResponse"]
    operation = customer.operation(body["operationId"])
    assert operation["status"] == "failure"
    assert "does not exist" in operation["result"]


def test_if_empty_reads_the_current_record(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(
        stack,
        sandbox,
        write_objects={
            "companies": {
                "objectName": "companies",
                "selectedFieldSettings": {
                    "description": {"writeOnUpdate": "ifEmpty"},
                    "industry": {"writeOnUpdate": "never"},
                },
            }
        },
    )
    filled = customer.write(
        "companies", {"type": "create", "record": {"name": "A", "description": "keep me"}}
    ).json()["result"]["recordId"]
    empty = customer.write("companies", {"type": "create", "record": {"name": "B"}}).json()[
        "result"
    ]["recordId"]
    response = customer.write(
        "companies",
        {
            "type": "update",
            "batch": [
                {"record": {"id": filled, "description": "overwrite?", "industry": "RETAIL"}},
                {"record": {"id": empty, "description": "fill me", "name": "B2"}},
            ],
        },
    )
    assert response.status_code == 200, response.text
    assert customer.record("companies", filled)["properties"]["description"] == "keep me"
    assert customer.record("companies", filled)["properties"].get("industry") in (None, "")
    assert customer.record("companies", empty)["properties"]["description"] == "fill me"
    assert customer.stats().get("batch.read") == 1  # one read for the whole batch

"""The Write API against the Salesforce emulator: REST, collections, headers, errors, mapping."""

from __future__ import annotations

from typing import Any

from conftest import Sandbox, Server
from writes.write_support import Customer, new_customer


def salesforce(stack: Server, sandbox: Sandbox, **options: Any) -> Customer:
    return new_customer(stack, sandbox, "salesforce", **options)


def test_create_update_delete_harry_potter(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(
        stack,
        sandbox,
        write_objects={"contact": {"objectName": "contact", "deletionSettings": {"enabled": True}}},
    )
    created = customer.write(
        "contact", {"type": "create", "record": {"FirstName": "Harry", "LastName": "Potter"}}
    )
    assert created.status_code == 200, created.text
    harry = created.json()["result"]["recordId"]
    assert harry.startswith("003") and len(harry) == 18
    assert "data" not in created.json()["result"]  # Salesforce returns no record data
    assert customer.record("Contact", harry)["LastName"] == "Potter"

    updated = customer.write(
        "contact", {"type": "update", "record": {"Id": harry, "FirstName": "Harry James"}}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["result"] == {"success": True, "recordId": harry}
    assert customer.record("Contact", harry)["FirstName"] == "Harry James"

    deleted = customer.write("contact", {"type": "delete", "record": {"id": harry}})
    assert deleted.status_code == 200, deleted.text
    assert customer.record("Contact", harry)["IsDeleted"] is True
    again = customer.write("contact", {"type": "delete", "record": {"id": harry}})
    assert again.status_code == 422
    assert (
        again.json()["errors"][0]
        == {
            "message": "entity is deleted",
            "code": "ENTITY_IS_DELETED",
        }
        or again.json()["errors"][0]["code"] == "ENTITY_IS_DELETED"
    )
    assert "ENTITY_IS_DELETED" in again.json()["rawResponse"]


def test_provider_errors_are_422_with_code_and_raw_body(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    missing = customer.write("contact", {"type": "create", "record": {"FirstName": "No last"}})
    assert missing.status_code == 422
    error = missing.json()["errors"][0]
    assert error["code"] == "REQUIRED_FIELD_MISSING" and "LastName" in error["message"]
    unknown = customer.write(
        "contact", {"type": "create", "record": {"LastName": "X", "Foo__c": 1}}
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["code"] == "INVALID_FIELD"
    assert "No such column 'Foo__c'" in unknown.json()["errors"][0]["message"]
    too_long = customer.write(
        "touchpoints__c", {"type": "create", "record": {"Campaign_Code__c": "x" * 21}}
    )
    assert too_long.json()["errors"][0]["code"] == "STRING_TOO_LONG"
    picklist = customer.write(
        "touchpoints__c", {"type": "create", "record": {"Channel__c": "Carrier pigeon"}}
    )
    assert picklist.json()["errors"][0]["code"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    not_found = customer.write(
        "contact", {"type": "update", "record": {"id": "003000000000001AAA", "LastName": "X"}}
    )
    assert not_found.status_code == 422
    operation = customer.operation(missing.json()["operationId"])
    assert operation["status"] == "failure"
    assert any(line["severity"] == "ERROR" for line in customer.logs(missing.json()["operationId"]))


def test_duplicate_rule_and_header_forwarding(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    first = customer.write(
        "contact", {"type": "create", "record": {"LastName": "Granger", "Email": "h@hogwarts.com"}}
    )
    assert first.status_code == 200, first.text
    duplicate = customer.write(
        "contact", {"type": "create", "record": {"LastName": "Granger", "Email": "h@hogwarts.com"}}
    )
    assert duplicate.status_code == 422
    assert duplicate.json()["errors"][0]["code"] == "DUPLICATES_DETECTED"
    allowed = customer.write(
        "contact",
        {
            "type": "create",
            "record": {"LastName": "Granger", "Email": "h@hogwarts.com"},
            "headers": [{"key": "Sforce-Duplicate-Rule-Header", "value": "allowSave=true"}],
        },
    )
    assert allowed.status_code == 200, allowed.text  # the header reached Salesforce
    assert "warnings" not in allowed.json()


def test_batch_create_partial_and_all_or_none(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    batch = [
        {"record": {"FirstName": "Hermione", "LastName": "Granger"}},
        {"record": {"FirstName": "Ginny"}},
        {"record": {"FirstName": "Ron", "LastName": "Weasley"}},
    ]
    partial = customer.write("contact", {"type": "create", "batch": batch})
    assert partial.status_code == 200, partial.text
    body = partial.json()
    assert (body["successCount"], body["failureCount"]) == (2, 1)
    assert [r["success"] for r in body["results"]] == [True, False, True]
    assert body["results"][1]["errors"][0]["code"] == "REQUIRED_FIELD_MISSING"
    ids = [r["recordId"] for r in body["results"] if r["success"]]
    assert customer.operation(body["operationId"])["metadata"]["successfulRecordIds"] == ids
    assert customer.stats().get("collections.create") == 1
    before = len(customer.records("Contact"))
    rolled_back = customer.write(
        "contact", {"type": "create", "batch": batch, "batchPolicy": {"allOrNone": True}}
    )
    assert rolled_back.status_code == 422
    body = rolled_back.json()
    assert (body["successCount"], body["failureCount"]) == (0, 3)
    codes = {r["errors"][0]["code"] for r in body["results"]}
    assert "ALL_OR_NONE_OPERATION_ROLLED_BACK" in codes
    assert len(customer.records("Contact")) == before


def test_batch_update(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    ids = [
        customer.write("account", {"type": "create", "record": {"companyName": f"Co {i}"}}).json()[
            "result"
        ]["recordId"]
        for i in range(3)
    ]
    response = customer.write(
        "account",
        {
            "type": "update",
            "batch": [
                {"record": {"id": ids[0], "Industry": "Banking"}},
                {"record": {"id": ids[1], "Industry": "Not An Industry"}},
                {"record": {"id": ids[2], "companyName": "Renamed"}},
            ],
        },
    )
    assert response.status_code == 200, response.text
    assert [r["success"] for r in response.json()["results"]] == [True, False, True]
    assert customer.record("Account", ids[0])["Industry"] == "Banking"
    assert customer.record("Account", ids[2])["Name"] == "Renamed"  # mapping companyName → Name


def test_mapping_defaults_and_policies(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(
        stack,
        sandbox,
        write_objects={
            "account": {
                "objectName": "account",
                "selectedFieldSettings": {
                    "Type": {"default": {"stringValue": "Prospect"}, "writeOnUpdate": "never"},
                    "NumberOfEmployees": {"default": {"integerValue": 1}},
                    "notes": {"writeOnUpdate": "ifEmpty"},
                },
            }
        },
        read_objects={
            "account": {
                "objectName": "account",
                "selectedFields": {},
                "selectedFieldMappings": {"notes": "Description"},
            }
        },
    )
    created = customer.write(
        "account",
        {"type": "create", "record": {"companyName": "Diagon", "tier": "gold", "notes": "first"}},
    )
    assert created.status_code == 200, created.text
    record_id = created.json()["result"]["recordId"]
    stored = customer.record("Account", record_id)
    assert stored["Name"] == "Diagon"
    assert stored["Type"] == "Prospect" and stored["NumberOfEmployees"] == 1
    assert stored["Description"] == "first"  # the customer's mapping of "notes"
    updated = customer.write(
        "account",
        {"type": "update", "record": {"id": record_id, "notes": "second", "Type": "Other"}},
    )
    assert updated.status_code == 200, updated.text
    stored = customer.record("Account", record_id)
    assert stored["Description"] == "first"  # ifEmpty: it was not empty
    assert stored["Type"] == "Prospect"  # writeOnUpdate never
    assert customer.stats().get("collections.retrieve") == 1


def test_rate_limit_and_outage_are_422_retryable(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    customer.faults(failNext=["rate_limited"])
    limited = customer.write("contact", {"type": "create", "record": {"LastName": "A"}})
    assert limited.status_code == 422
    assert limited.json()["retryable"] is True
    assert "REQUEST_LIMIT_EXCEEDED" in limited.json()["rawResponse"]
    customer.faults(failNext=["unavailable"])
    down = customer.write("contact", {"type": "create", "record": {"LastName": "B"}})
    assert down.status_code == 422 and down.json()["retryable"] is True
    customer.faults(failNext=["drop"])
    dropped = customer.write("contact", {"type": "create", "record": {"LastName": "C"}})
    # the request left and no answer came: the create may exist, so it is not retryable
    assert dropped.status_code == 502 and dropped.json()["retryable"] is False
    assert dropped.json()["code"] == "outcome_unknown"
    logs = customer.logs(dropped.json()["context"]["operationId"])
    assert any("attempt 1 got no answer" in line["message"]["msg"] for line in logs)
    ok = customer.write("contact", {"type": "create", "record": {"LastName": "D"}})
    assert ok.status_code == 200
    names = {r["LastName"] for r in customer.records("Contact")}
    assert names == {"D"}  # nothing written by the failed attempts


def test_mapped_object_name_and_custom_object(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    contact = customer.write("contact", {"type": "create", "record": {"LastName": "Lupin"}})
    contact_id = contact.json()["result"]["recordId"]
    touch = customer.write(
        "touchpoints__c",
        {
            "type": "create",
            "record": {"Channel__c": "Email", "Contact__c": contact_id, "Score__c": 4.5},
        },
    )
    assert touch.status_code == 200, touch.text
    record = customer.record("touchpoints__c", touch.json()["result"]["recordId"])
    assert record["Contact__c"] == contact_id and record["Score__c"] == 4.5

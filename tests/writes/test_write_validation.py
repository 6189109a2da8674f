"""The Write API's request checks: every row of the validity matrix (ampersand.md §4.4), the
request-shape rules and authentication.

Each rejected request must answer application/problem+json naming the offending field in
`issues[].name`, with a `detail` that says what is wrong and a `remedy` that says what to do,
and must leave the customer's SaaS untouched: no provider call, no record, no operation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from conftest import Sandbox, Server
from writeback.writes.request import WriteRequest
from writeback.writes.validity import check_request
from writes.write_support import Customer, new_customer

PROBLEM_JSON = "application/problem+json"
ASSOCIATE_279 = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}
SALESFORCE_WRITE_OBJECTS = ["account", "contact", "lead", "touchpoints__c"]


def salesforce(stack: Server, sandbox: Sandbox, **options: Any) -> Customer:
    return new_customer(stack, sandbox, "salesforce", **options)


def hubspot(stack: Server, sandbox: Sandbox, **options: Any) -> Customer:
    return new_customer(stack, sandbox, "hubspot", **options)


# --- what "nothing happened" means ---------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    objects: dict[str, int]  # live records per provider object
    provider_requests: int  # every request the tenant's emulator has served
    operations: int  # operations recorded for the customer's installation


def operations_of(customer: Customer) -> list[dict[str, Any]]:
    response = customer.api.get(
        f"{customer.p}/integrations/{customer.integration['id']}/installations/"
        f"{customer.installation['id']}/operations"
    )
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def snapshot(customer: Customer) -> Snapshot:
    tenant = customer.sandbox.admin.get(f"/_sandbox/tenants/{customer.tenant['tenantId']}")
    assert tenant.status_code == 200, tenant.text
    body = tenant.json()
    return Snapshot(dict(body["objects"]), int(body["requests"]), len(operations_of(customer)))


def assert_untouched(customer: Customer, before: Snapshot) -> None:
    after = snapshot(customer)
    assert after.objects == before.objects, "records were written to the provider"
    assert after.provider_requests == before.provider_requests, "the provider was called"
    assert after.operations == before.operations, "an operation was recorded"


def assert_problem(
    response: httpx.Response,
    status: int,
    *,
    names: list[str] | None = None,
    location: str = "body",
    detail: tuple[str, ...] = (),
    remedy: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A problem+json answer with `status`; `names` are exactly its issues' names (in order);
    `detail` and `remedy` words must appear (case-insensitively) in the top-level fields."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = dict(response.json())
    assert body["status"] == status
    assert body["detail"], body
    assert body["remedy"], body
    for word in detail:
        assert word.lower() in body["detail"].lower(), (word, body["detail"])
    for word in remedy:
        assert word.lower() in body["remedy"].lower(), (word, body["remedy"])
    if names is not None:
        issues = body.get("issues") or []
        assert [i["name"] for i in issues] == names, body
        for item in issues:
            assert item["in"] == location, item
            assert item["detail"], item
    return body


def rejected(
    customer: Customer,
    object_name: str,
    body: dict[str, Any],
    status: int,
    **expect: Any,
) -> dict[str, Any]:
    """Send a write that must be refused, check the problem, and that nothing happened."""
    before = snapshot(customer)
    problem = assert_problem(customer.write(object_name, body), status, **expect)
    assert_untouched(customer, before)
    return problem


def created_id(customer: Customer, object_name: str, record: dict[str, Any]) -> str:
    response = customer.write(object_name, {"type": "create", "record": record})
    assert response.status_code == 200, response.text
    return str(response.json()["result"]["recordId"])


# --- record / batch shape ------------------------------------------------------------------


def test_neither_record_nor_batch(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    rejected(
        customer,
        "contact",
        {"type": "create"},
        400,
        names=["record"],
        detail=("neither record nor batch",),
        remedy=("`record`", "`batch`"),
    )


def test_record_and_batch_together(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    rejected(
        customer,
        "contact",
        {
            "type": "create",
            "record": {"LastName": "One"},
            "batch": [{"record": {"LastName": "Two"}}],
        },
        400,
        names=["batch"],
        detail=("both",),
        remedy=("not both",),
    )


@pytest.mark.parametrize("size", [0, 101])
def test_batch_size_out_of_range(stack: Server, sandbox: Sandbox, size: int) -> None:
    customer = salesforce(stack, sandbox)
    batch = [{"record": {"LastName": f"L{i}"}} for i in range(size)]
    problem = rejected(
        customer,
        "contact",
        {"type": "create", "batch": batch},
        400,
        names=["batch"],
        detail=(f"holds {size} records", "1 to 100"),
        remedy=("100",),
    )
    assert problem["issues"][0]["value"] == size


def test_batch_of_100_is_accepted(stack: Server, sandbox: Sandbox) -> None:
    """The boundary next to the 101 rejection: 100 records are one valid batch."""
    customer = salesforce(stack, sandbox)
    batch = [{"record": {"LastName": f"L{i}"}} for i in range(100)]
    response = customer.write("contact", {"type": "create", "batch": batch})
    assert response.status_code == 200, response.text
    assert response.json()["successCount"] == 100
    assert len(customer.records("contact")) == 100


@pytest.mark.parametrize("write_type", ["update", "delete"])
def test_single_record_without_id(stack: Server, sandbox: Sandbox, write_type: str) -> None:
    customer = salesforce(stack, sandbox)
    customer.patch_object(
        "contact", [{"op": "add", "path": "/deletionSettings", "value": {"enabled": True}}]
    )
    created_id(customer, "contact", {"LastName": "Kept"})
    problem = rejected(
        customer,
        "contact",
        {"type": write_type, "record": {"LastName": "Changed"}},
        400,
        names=["record.id"],
        detail=("record.id", write_type, "id"),
        remedy=('"id"',),
    )
    assert problem["issues"][0]["remedy"] == problem["remedy"]
    assert [r["LastName"] for r in customer.records("contact")] == ["Kept"]


def test_batch_update_without_id_names_the_item(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    first = created_id(customer, "contact", {"LastName": "First"})
    third = created_id(customer, "contact", {"LastName": "Third"})
    rejected(
        customer,
        "contact",
        {
            "type": "update",
            "batch": [
                {"record": {"id": first, "LastName": "Changed"}},
                {"record": {"LastName": "No id"}},
                {"record": {"id": third, "LastName": "Changed"}},
            ],
        },
        400,
        names=["batch[1].record.id"],
        detail=("batch[1].record.id",),
        remedy=('"id"',),
    )
    # the valid items were not written either: the whole request is refused
    assert customer.record("contact", first)["LastName"] == "First"
    assert customer.record("contact", third)["LastName"] == "Third"


@pytest.mark.parametrize(
    ("record", "name"),
    [
        ({"id": {"value": 1}}, "record.id"),
        ({"id": True}, "record.id"),
        ({"id": ""}, "record.id"),
        ({"id": ["003"]}, "record.id"),
        ({"id": None}, "record.id"),
        ({"Id": 1.5}, "record.Id"),
    ],
    ids=["object", "bool", "empty", "list", "null", "float-Id"],
)
def test_id_of_wrong_type(
    stack: Server, sandbox: Sandbox, record: dict[str, Any], name: str
) -> None:
    customer = salesforce(stack, sandbox)
    problem = rejected(
        customer,
        "contact",
        {"type": "update", "record": {**record, "LastName": "X"}},
        400,
        names=[name],
        detail=("non-empty string",),
        remedy=("string",),
    )
    sent = next(iter(record.values()))
    if sent is not None:
        assert problem["issues"][0]["value"] == sent  # echoes what was sent


def test_id_of_wrong_type_in_a_batch(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(stack, sandbox)
    rejected(
        customer,
        "contacts",
        {
            "type": "update",
            "batch": [{"record": {"id": "1", "firstname": "A"}}, {"record": {"id": False}}],
        },
        400,
        names=["batch[1].record.id"],
        detail=("non-empty string",),
    )


# --- delete -------------------------------------------------------------------------------


def test_delete_with_batch(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(stack, sandbox)
    customer.patch_object(
        "deals", [{"op": "add", "path": "/deletionSettings", "value": {"enabled": True}}]
    )
    record_id = created_id(customer, "deals", {"dealname": "Big"})
    rejected(
        customer,
        "deals",
        {"type": "delete", "batch": [{"record": {"id": record_id}}]},
        400,
        names=["batch"],
        detail=("single record",),
        remedy=("record",),
    )
    assert customer.record("deals", record_id)["archived"] is False


def test_delete_async_is_an_invalid_combination() -> None:
    """The rule itself (matrix row "delete + asynchronous"), as the validity check sees it."""
    request = WriteRequest(
        groupRef="g", type="delete", mode="asynchronous", record={"id": "003xx000001"}
    )
    issues = check_request(request, "salesforce")
    assert [i.name for i in issues] == ["mode"]
    assert "synchronous" in issues[0].detail and "synchronous" in issues[0].remedy


def test_delete_async_over_http(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    customer.patch_object(
        "contact", [{"op": "add", "path": "/deletionSettings", "value": {"enabled": True}}]
    )
    record_id = created_id(customer, "contact", {"LastName": "Kept"})
    rejected(
        customer,
        "contact",
        {"type": "delete", "mode": "asynchronous", "record": {"id": record_id}},
        400,
        names=["mode"],
        detail=("synchronous",),
        remedy=("synchronous",),
    )


def test_delete_not_enabled(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    record_id = created_id(customer, "contact", {"LastName": "Kept"})
    problem = rejected(
        customer,
        "contact",
        {"type": "delete", "record": {"id": record_id}},
        409,
        detail=("delete", "contact", "not enabled"),
        remedy=("deletionSettings", '"enabled": true'),
    )
    assert "issues" not in problem
    assert customer.record("contact", record_id)["IsDeleted"] is False
    assert len(customer.records("contact")) == 1


# --- what the request addresses -------------------------------------------------------------


@pytest.mark.parametrize("object_name", ["opportunity", "no_such_object"])
def test_object_not_a_write_object(stack: Server, sandbox: Sandbox, object_name: str) -> None:
    """`opportunity` exists in Salesforce but is not in the integration's write objects."""
    customer = salesforce(stack, sandbox)
    problem = rejected(
        customer,
        object_name,
        {"type": "create", "record": {"Name": "X"}},
        404,
        names=["objectName"],
        location="path",
        detail=(object_name, "not a write object"),
        remedy=tuple(SALESFORCE_WRITE_OBJECTS),
    )
    assert problem["issues"][0]["value"] == object_name


def test_write_object_missing_from_the_installation(stack: Server, sandbox: Sandbox) -> None:
    """In amp.yaml's write objects, but this customer's installation did not enable it."""
    customer = salesforce(stack, sandbox, write_objects={"contact": {"objectName": "contact"}})
    rejected(
        customer,
        "lead",
        {"type": "create", "record": {"LastName": "L", "Company": "C"}},
        409,
        detail=("lead", "not enabled"),
        remedy=("config-content", "lead"),
    )


def test_unknown_group_ref(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    problem = rejected(
        customer,
        "contact",
        {"type": "create", "record": {"LastName": "X"}, "groupRef": "nobody"},
        404,
        names=["groupRef"],
        detail=("nobody", "no installation"),
        remedy=("groupRef", "install"),
    )
    assert problem["issues"][0]["value"] == "nobody"


@pytest.mark.parametrize("integration", [str(uuid.uuid4()), "no-such-integration"])
def test_unknown_integration(stack: Server, sandbox: Sandbox, integration: str) -> None:
    customer = salesforce(stack, sandbox)
    before = snapshot(customer)
    response = customer.api.post(
        f"{customer.p}/integrations/{integration}/objects/contact",
        json={"groupRef": customer.group_ref, "type": "create", "record": {"LastName": "X"}},
    )
    assert_problem(response, 404, detail=("integration", integration), remedy=("integration",))
    assert_untouched(customer, before)


# --- provider- and mode-specific fields ------------------------------------------------------


def test_associations_on_salesforce(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    association = {"to": {"id": "001xx0000000001"}, "types": [ASSOCIATE_279]}
    rejected(
        customer,
        "contact",
        {"type": "create", "record": {"LastName": "X"}, "associations": [association]},
        400,
        names=["associations"],
        detail=("hubspot only", "salesforce"),
        remedy=("lookup", "AccountId"),
    )
    rejected(
        customer,
        "contact",
        {
            "type": "create",
            "batch": [{"record": {"LastName": "X"}, "associations": [association]}],
        },
        400,
        names=["associations"],
        detail=("hubspot only",),
    )


def test_top_level_associations_with_batch(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(stack, sandbox)
    company = created_id(customer, "companies", {"name": "Acme"})
    rejected(
        customer,
        "contacts",
        {
            "type": "create",
            "batch": [{"record": {"email": "a@example.com"}}],
            "associations": [{"to": {"id": company}, "types": [ASSOCIATE_279]}],
        },
        400,
        names=["associations"],
        detail=("single-record",),
        remedy=("batch[i].associations",),
    )


@pytest.mark.parametrize("mode", ["synchronous", None])
def test_auto_batch_policy_needs_async_mode(
    stack: Server, sandbox: Sandbox, mode: str | None
) -> None:
    customer = hubspot(stack, sandbox)
    body: dict[str, Any] = {
        "type": "create",
        "record": {"email": "a@example.com"},
        "autoBatchPolicy": {"maxDelayMinutes": 5},
    }
    if mode:
        body["mode"] = mode
    rejected(
        customer,
        "contacts",
        body,
        400,
        names=["autoBatchPolicy"],
        detail=("asynchronous",),
        remedy=('"mode": "asynchronous"',),
    )


def test_auto_batch_policy_with_batch(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(stack, sandbox)
    problem = rejected(
        customer,
        "contacts",
        {
            "type": "create",
            "batch": [{"record": {"email": "a@example.com"}}],
            "autoBatchPolicy": {"maxDelayMinutes": 5},
        },
        400,
        names=["autoBatchPolicy", "autoBatchPolicy"],  # also: it is not asynchronous
    )
    details = [i["detail"] for i in problem["issues"]]
    assert "auto-batching is for single-record writes" in details
    assert all(i["remedy"] for i in problem["issues"])


def test_auto_batch_policy_with_batch_in_async_mode(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(stack, sandbox)
    rejected(
        customer,
        "contacts",
        {
            "type": "create",
            "mode": "asynchronous",
            "batch": [{"record": {"email": "a@example.com"}}],
            "autoBatchPolicy": {"maxDelayMinutes": 5},
        },
        400,
        names=["autoBatchPolicy"],
        detail=("single-record",),
    )


def test_auto_batch_policy_with_delete(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(stack, sandbox)
    customer.patch_object(
        "deals", [{"op": "add", "path": "/deletionSettings", "value": {"enabled": True}}]
    )
    record_id = created_id(customer, "deals", {"dealname": "Big"})
    rejected(
        customer,
        "deals",
        {"type": "delete", "record": {"id": record_id}, "autoBatchPolicy": {"maxDelayMinutes": 5}},
        400,
        names=["autoBatchPolicy"],
    )
    assert customer.record("deals", record_id)["archived"] is False


@pytest.mark.parametrize("mode", ["synchronous", None])
def test_retry_policy_with_sync_mode(stack: Server, sandbox: Sandbox, mode: str | None) -> None:
    customer = salesforce(stack, sandbox)
    body: dict[str, Any] = {
        "type": "create",
        "record": {"LastName": "X"},
        "retryPolicy": {"deadlineHours": 2},
    }
    if mode:
        body["mode"] = mode
    rejected(
        customer,
        "contact",
        body,
        400,
        names=["retryPolicy"],
        detail=("asynchronous",),
        remedy=("remove retryPolicy",),
    )


def test_batch_policy_without_batch(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    rejected(
        customer,
        "contact",
        {"type": "create", "record": {"LastName": "X"}, "batchPolicy": {"allOrNone": True}},
        400,
        names=["batchPolicy"],
        detail=("batch",),
        remedy=("remove batchPolicy",),
    )


@pytest.mark.parametrize(
    ("field", "value", "name", "limit"),
    [
        ("retryPolicy", {"deadlineHours": 49}, "retryPolicy.deadlineHours", "48"),
        ("retryPolicy", {"deadlineHours": 0}, "retryPolicy.deadlineHours", "1"),
        ("autoBatchPolicy", {"maxDelayMinutes": 0}, "autoBatchPolicy.maxDelayMinutes", "1"),
        ("autoBatchPolicy", {"maxDelayMinutes": 1441}, "autoBatchPolicy.maxDelayMinutes", "1440"),
        (
            "autoBatchPolicy",
            {"maxDelayMinutes": 5, "retryDeadlineHours": 49},
            "autoBatchPolicy.retryDeadlineHours",
            "48",
        ),
    ],
    ids=["deadlineHours-49", "deadlineHours-0", "maxDelay-0", "maxDelay-1441", "retryDeadline-49"],
)
def test_out_of_range_numbers(
    stack: Server, sandbox: Sandbox, field: str, value: dict[str, Any], name: str, limit: str
) -> None:
    customer = hubspot(stack, sandbox)
    problem = rejected(
        customer,
        "contacts",
        {"type": "create", "mode": "asynchronous", "record": {"email": "a@b.c"}, field: value},
        400,
        names=[name],
        detail=(name, limit),
        remedy=("issues",),
    )
    assert problem["issues"][0]["value"] == value[name.split(".")[1]]


def test_auto_batch_policy_without_max_delay(stack: Server, sandbox: Sandbox) -> None:
    customer = hubspot(stack, sandbox)
    rejected(
        customer,
        "contacts",
        {
            "type": "create",
            "mode": "asynchronous",
            "record": {"email": "a@b.c"},
            "autoBatchPolicy": {"retryDeadlineHours": 2},
        },
        400,
        names=["autoBatchPolicy.maxDelayMinutes"],
        detail=("required",),
    )


# --- body syntax ----------------------------------------------------------------------------


def test_unknown_top_level_field(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    problem = rejected(
        customer,
        "contact",
        {"type": "create", "record": {"LastName": "X"}, "recordz": {"LastName": "Y"}},
        400,
        names=["recordz"],
        detail=("recordz", "unknown field"),
        remedy=("issues",),
    )
    assert problem["issues"][0]["detail"] == "unknown field"


def test_unknown_field_in_a_policy(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    rejected(
        customer,
        "contact",
        {
            "type": "create",
            "batch": [{"record": {"LastName": "X"}}],
            "batchPolicy": {"allOrNothing": True},
        },
        400,
        names=["batchPolicy.allOrNothing"],
        detail=("unknown field",),
    )


@pytest.mark.parametrize(
    "raw",
    [b'{"groupRef": "g", "type": ', b"not json at all"],
    ids=["truncated", "garbage"],
)
def test_malformed_json(stack: Server, sandbox: Sandbox, raw: bytes) -> None:
    customer = salesforce(stack, sandbox)
    before = snapshot(customer)
    response = customer.api.post(
        f"{customer.p}/integrations/{customer.integration['id']}/objects/contact",
        content=raw,
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 400, names=["body"], detail=("malformed JSON",))
    assert_untouched(customer, before)


def test_body_that_is_not_an_object(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    before = snapshot(customer)
    response = customer.api.post(
        f"{customer.p}/integrations/{customer.integration['id']}/objects/contact",
        json=[{"groupRef": customer.group_ref, "type": "create", "record": {"LastName": "X"}}],
    )
    problem = assert_problem(response, 400, names=["body"])
    assert "JSON object" in problem["issues"][0]["detail"]
    assert_untouched(customer, before)


@pytest.mark.parametrize("value", [5, "upsert", None], ids=["number", "unknown-word", "null"])
def test_wrong_type_for_type(stack: Server, sandbox: Sandbox, value: Any) -> None:
    customer = salesforce(stack, sandbox)
    rejected(
        customer,
        "contact",
        {"type": value, "record": {"LastName": "X"}},
        400,
        names=["type"],
        detail=("type", "'create', 'update' or 'delete'"),
    )


def test_missing_required_fields(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    before = snapshot(customer)
    response = customer.api.post(
        f"{customer.p}/integrations/{customer.integration['id']}/objects/contact",
        json={"record": {"LastName": "X"}},
    )
    problem = assert_problem(response, 400, names=["groupRef", "type"])
    assert all("required" in i["detail"].lower() for i in problem["issues"])
    assert_untouched(customer, before)


# --- authentication and addressing ------------------------------------------------------------


def write_url(
    customer: Customer, project: str | None = None, integration: str | None = None
) -> str:
    return (
        f"{customer.stack.url}/v1/projects/{project or customer.project['id']}/integrations/"
        f"{integration or customer.integration['id']}/objects/contact"
    )


def create_body(customer: Customer, last_name: str) -> dict[str, Any]:
    return {"groupRef": customer.group_ref, "type": "create", "record": {"LastName": last_name}}


def api_key(customer: Customer) -> str:
    return str(customer.api.headers["X-Api-Key"])


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": "wb_not_a_key"}], ids=["missing", "wrong"])
def test_missing_or_wrong_api_key(stack: Server, sandbox: Sandbox, headers: dict[str, str]) -> None:
    customer = salesforce(stack, sandbox)
    before = snapshot(customer)
    response = httpx.post(write_url(customer), json=create_body(customer, "X"), headers=headers)
    assert_problem(response, 401, detail=("API key",), remedy=("key",))
    if not headers:
        assert "X-Api-Key" in response.json()["remedy"]
    assert_untouched(customer, before)


def test_another_projects_key(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    _, other = stack.new_project("other")
    before = snapshot(customer)
    response = other.post(
        f"{customer.p}/integrations/{customer.integration['id']}/objects/contact",
        json=create_body(customer, "X"),
    )
    # never reveals that the project exists
    assert_problem(response, 404, detail=("Project", customer.project["id"]), remedy=("project",))
    assert_untouched(customer, before)


def test_api_key_as_query_parameter(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    response = httpx.post(
        write_url(customer), params={"apiKey": api_key(customer)}, json=create_body(customer, "Q")
    )
    assert response.status_code == 200, response.text
    record_id = response.json()["result"]["recordId"]
    assert customer.record("contact", record_id)["LastName"] == "Q"
    refused = httpx.post(
        write_url(customer), params={"apiKey": "wb_wrong"}, json=create_body(customer, "R")
    )
    assert refused.status_code == 401
    assert [r["LastName"] for r in customer.records("contact")] == ["Q"]


def test_integration_and_project_addressed_by_name(stack: Server, sandbox: Sandbox) -> None:
    customer = salesforce(stack, sandbox)
    assert customer.integration["name"] == "sf"
    response = customer.api.post(
        write_url(customer, project=customer.project["name"], integration="sf"),
        json=create_body(customer, "ByName"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert customer.record("contact", body["result"]["recordId"])["LastName"] == "ByName"
    assert customer.operation(body["operationId"])["integrationId"] == customer.integration["id"]


# --- asynchronous mode (today) -------------------------------------------------------------------


def test_asynchronous_mode_is_accepted_with_only_an_operation_id(
    stack: Server, sandbox: Sandbox
) -> None:
    """Asynchronous writes answer at once with the operation to follow (tests/writes/test_async.py
    covers what happens next)."""
    customer = salesforce(stack, sandbox)
    response = customer.write(
        "contact", {"type": "create", "mode": "asynchronous", "record": {"LastName": "Later"}}
    )
    assert response.status_code == 200, response.text
    assert list(response.json()) == ["operationId"]
    operation = customer.operation(response.json()["operationId"])
    assert operation["metadata"]["mode"] == "asynchronous"

"""Object metadata via an installation or a connection, against the Salesforce and HubSpot
emulators: mapped and native names, excludeReadOnly, the per-connection cache, errors."""

from __future__ import annotations

from typing import Any

import httpx

from conftest import Sandbox, Server
from writes.write_support import Customer, new_customer

SF_MAPPED_MANIFEST = """
specVersion: 1.0.0
integrations:
  - name: sf
    provider: salesforce
    read:
      objects:
        - objectName: account
          destination: wh
          schedule: "*/30 * * * *"
          mapToName: companies
          requiredFields:
            - fieldName: Name
    write:
      objects:
        - objectName: account
        - objectName: contact
"""


def via_installation(customer: Customer, object_name: str, **params: Any) -> httpx.Response:
    return customer.api.get(
        f"{customer.p}/integrations/{customer.integration['id']}/objects/{object_name}/metadata",
        params={"groupRef": customer.group_ref, **params},
    )


def via_connection(customer: Customer, object_name: str, **params: Any) -> httpx.Response:
    return customer.api.get(
        f"{customer.p}/providers/{customer.provider}/objects/{object_name}/metadata",
        params={"groupRef": customer.group_ref, **params},
    )


def provider_requests(customer: Customer) -> int:
    response = customer.sandbox.admin.get(f"/_sandbox/tenants/{customer.tenant['tenantId']}/stats")
    return int(response.json()["requests"])


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return dict(response.json())


def test_salesforce_object_by_mapped_and_native_name(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "salesforce", manifest=SF_MAPPED_MANIFEST)
    response = via_installation(customer, "companies")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "account"
    assert body["displayName"] == "Account"
    assert body["mappedObjectName"] == "companies"
    fields = body["fields"]
    assert fields["name"] == {
        "fieldName": "name",
        "displayName": "Account Name",
        "valueType": "string",
        "providerType": "string",
        "readOnly": False,
        "isCustom": False,
        "isRequired": True,
    }
    assert fields["id"]["readOnly"] is True
    assert fields["health_score__c"]["isCustom"] is True
    assert fields["health_score__c"]["valueType"] == "float"
    industry = fields["industry"]
    assert industry["valueType"] == "singleSelect" and industry["providerType"] == "picklist"
    assert industry["values"] and {"value", "displayValue"} == set(industry["values"][0])
    assert fields["ownerid"]["valueType"] == "reference"
    assert fields["ownerid"]["referenceTo"] == ["User"]

    native = via_installation(customer, "account")
    assert native.status_code == 200, native.text
    assert native.json()["name"] == "account"
    assert native.json()["mappedObjectName"] == "companies"
    assert native.json()["fields"] == fields

    # an object the integration does not map, by its native name (any case)
    contact = via_installation(customer, "Contact")
    assert contact.status_code == 200, contact.text
    assert contact.json()["name"] == "contact" and "mappedObjectName" not in contact.json()

    by_connection = via_connection(customer, "account")
    assert by_connection.status_code == 200, by_connection.text
    assert "mappedObjectName" not in by_connection.json()
    assert by_connection.json()["fields"] == fields


def test_exclude_read_only(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "salesforce")
    everything = via_installation(customer, "account").json()["fields"]
    writable = via_installation(customer, "account", excludeReadOnly="true").json()["fields"]
    assert "id" in everything and "id" not in writable
    assert writable and all(not f["readOnly"] for f in writable.values())
    assert set(writable) == {k for k, f in everything.items() if not f["readOnly"]}


def test_hubspot_properties_by_mapped_and_native_name(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "hubspot")
    response = via_installation(customer, "people")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "contacts" and body["mappedObjectName"] == "people"
    fields = body["fields"]
    assert fields["email"]["fieldName"] == "email"
    assert fields["email"]["displayName"] == "Email"
    assert fields["email"]["valueType"] == "string" and fields["email"]["isCustom"] is False
    assert fields["hs_object_id"]["readOnly"] is True
    stage = fields["lifecyclestage"]
    assert stage["valueType"] == "singleSelect" and stage["providerType"] == "enumeration"
    assert {"value": "lead", "displayValue": "Lead"} in stage["values"]
    tier = fields["customer_tier"]
    assert tier["isCustom"] is True
    assert [v["value"] for v in tier["values"]] == ["bronze", "silver", "gold"]

    native = via_installation(customer, "contacts", excludeReadOnly="true")
    assert native.status_code == 200, native.text
    assert "hs_object_id" not in native.json()["fields"]
    assert native.json()["mappedObjectName"] == "people"

    companies = via_connection(customer, "companies")
    assert companies.status_code == 200, companies.text
    assert companies.json()["name"] == "companies" and "domain" in companies.json()["fields"]


def test_answers_are_cached_per_connection_until_refreshed(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "hubspot")
    assert via_installation(customer, "contacts").status_code == 200
    before = provider_requests(customer)
    assert via_installation(customer, "people").status_code == 200  # same object, mapped name
    assert via_connection(customer, "contacts").status_code == 200  # same connection
    assert provider_requests(customer) == before
    assert via_connection(customer, "contacts", refresh="true").status_code == 200
    assert provider_requests(customer) == before + 1


def test_unknown_project_integration_installation_group_and_connection(
    stack: Server, sandbox: Sandbox
) -> None:
    customer = new_customer(stack, sandbox, "hubspot")
    integration = customer.integration["id"]
    missing_project = customer.api.get(
        f"/projects/no-such-project/integrations/{integration}/objects/contacts/metadata",
        params={"groupRef": customer.group_ref},
    )
    assert "Project 'no-such-project'" in problem(missing_project, 404)["detail"]
    missing_integration = customer.api.get(
        f"{customer.p}/integrations/nope/objects/contacts/metadata",
        params={"groupRef": customer.group_ref},
    )
    assert "Integration 'nope'" in problem(missing_integration, 404)["detail"]
    no_installation = via_installation(customer, "contacts", groupRef="other-group")
    assert "'other-group' has no installation" in problem(no_installation, 404)["detail"]
    no_group = via_connection(customer, "contacts", groupRef="other-group")
    assert "Group 'other-group' not found" in problem(no_group, 404)["detail"]
    no_connection = customer.api.get(
        f"{customer.p}/providers/salesforce/objects/account/metadata",
        params={"groupRef": customer.group_ref},
    )
    body = problem(no_connection, 404)
    assert "has no salesforce connection" in body["detail"] and body["remedy"]
    no_group_ref = customer.api.get(f"{customer.p}/providers/hubspot/objects/contacts/metadata")
    assert no_group_ref.status_code in (400, 422)


def test_an_object_the_provider_lacks(stack: Server, sandbox: Sandbox) -> None:
    salesforce = new_customer(stack, sandbox, "salesforce")
    body = problem(via_installation(salesforce, "spaceship__c"), 404)
    assert "salesforce has no object 'spaceship__c'" in body["detail"]
    assert body["code"] == "object_not_found"
    hubspot = new_customer(stack, sandbox, "hubspot")
    body = problem(via_connection(hubspot, "spaceships"), 404)
    assert "hubspot has no object 'spaceships'" in body["detail"]


def test_provider_failure_is_a_502_and_not_cached(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "salesforce")
    customer.faults(failNext=["server_error"])
    body = problem(via_installation(customer, "account"), 502)
    assert body["code"] == "provider_error"
    assert "salesforce failed to describe 'account'" in body["detail"]
    assert len(body["detail"]) < 1000
    assert via_installation(customer, "account").status_code == 200


def test_a_revoked_connection_needs_a_reconnect(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "hubspot")
    tenant = f"/_sandbox/tenants/{customer.tenant['tenantId']}"
    sandbox.admin.post(f"{tenant}/tokens/revoke", json={})
    sandbox.admin.post(f"{tenant}/tokens/expire", json={})
    body = problem(via_connection(customer, "contacts"), 424)
    assert "no longer works" in body["detail"] and "reconnect" in body["remedy"]

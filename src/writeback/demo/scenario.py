"""What `writeback demo` does once the sandbox and the server are up."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from writeback.cli.http import ApiClient

GROUP = "demo-group-id"
SF_CLIENT = ("demo-salesforce-client", "demo-salesforce-secret")
HS_CLIENT = ("demo-hubspot-client", "demo-hubspot-secret")

Say = Callable[[str, Any], None]


def _tenant(sandbox: str, provider: str, client: tuple[str, str]) -> dict[str, Any]:
    response = httpx.post(
        f"{sandbox}/_sandbox/tenants",
        json={"provider": provider, "clientId": client[0], "clientSecret": client[1]},
    )
    response.raise_for_status()
    return dict(response.json())


def set_up_customers(api: ApiClient, project: str, sandbox: str, manifest: str) -> dict[str, Any]:
    """Provider apps, one Salesforce org and one HubSpot portal for the demo group, installed."""
    salesforce = _tenant(sandbox, "salesforce", SF_CLIENT)
    hubspot = _tenant(sandbox, "hubspot", HS_CLIENT)
    base = f"/projects/{project}"
    api.post(
        f"{base}/provider-apps",
        {"provider": "salesforce", "clientId": SF_CLIENT[0], "clientSecret": SF_CLIENT[1]},
    )
    api.post(
        f"{base}/provider-apps",
        {
            "provider": "hubspot",
            "clientId": HS_CLIENT[0],
            "clientSecret": HS_CLIENT[1],
            "scopes": ["crm.objects.contacts.write", "crm.objects.companies.write", "oauth"],
        },
    )
    for provider, tenant, extra in (
        (
            "salesforce",
            salesforce,
            {
                "providerMetadata": {
                    "instanceUrl": {"value": salesforce["instanceUrl"], "source": "token"}
                }
            },
        ),
        ("hubspot", hubspot, {"providerWorkspaceRef": str(hubspot["hubId"])}),
    ):
        api.post(
            f"{base}/connections:generate",
            {
                "groupRef": GROUP,
                "groupName": "Demo Customer Inc.",
                "consumerRef": "demo-user",
                "provider": provider,
                **extra,
                "oauth2AuthorizationCode": {
                    "accessToken": {"token": tenant["accessToken"]},
                    "refreshToken": {"token": tenant["refreshToken"]},
                },
            },
        )
    deployed = api.put(f"{base}/integrations:batch", {"sourceYaml": manifest})
    write_objects = {
        "write-to-salesforce": {
            "account": {"objectName": "account"},
            "contact": {"objectName": "contact", "deletionSettings": {"enabled": True}},
            "touchpoints__c": {"objectName": "touchpoints__c"},
        },
        "write-to-hubspot": {
            "contacts": {"objectName": "contacts"},
            "companies": {"objectName": "companies"},
            "deals": {"objectName": "deals"},
        },
    }
    for integration in deployed:
        objects = write_objects.get(integration["name"])
        if objects:
            api.post(
                f"{base}/integrations/{integration['id']}/installations",
                {"groupRef": GROUP, "config": {"content": {"write": {"objects": objects}}}},
            )
    return {"salesforce": salesforce, "hubspot": hubspot, "integrations": deployed}


def run_examples(api: ApiClient, project: str, say: Say) -> dict[str, Any]:
    """The write-actions docs' examples, in order, each printed with its answer."""

    def write(integration: str, object_name: str, body: dict[str, Any]) -> dict[str, Any]:
        path = f"/projects/{project}/integrations/{integration}/objects/{object_name}"
        answer = api.post(path, {"groupRef": GROUP, **body})
        say(f"POST …/integrations/{integration}/objects/{object_name}", body, answer)
        return dict(answer)

    created = write(
        "write-to-salesforce",
        "contact",
        {"type": "create", "record": {"FirstName": "Harry", "LastName": "Potter"}},
    )
    harry = created["result"]["recordId"]
    write(
        "write-to-salesforce",
        "contact",
        {
            "type": "update",
            "record": {"Id": harry, "FirstName": "Harry James", "LastName": "Potter"},
        },
    )
    hogwarts = write(
        "write-to-hubspot", "companies", {"type": "create", "record": {"name": "Hogwarts"}}
    )["result"]["recordId"]
    write(
        "write-to-hubspot",
        "contacts",
        {
            "type": "create",
            "record": {
                "firstname": "Harry",
                "lastname": "Potter",
                "email": "harry@hogwarts.com",
                "phone": "123456789",
            },
            "associations": [
                {
                    "to": {"id": hogwarts},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}],
                }
            ],
        },
    )
    write(
        "write-to-salesforce",
        "contact",
        {
            "type": "create",
            "batch": [
                {
                    "record": {
                        "FirstName": "Hermione",
                        "LastName": "Granger",
                        "Email": "hermione@hogwarts.com",
                    }
                },
                {
                    "record": {
                        "FirstName": "Ron",
                        "LastName": "Weasley",
                        "Email": "ron@hogwarts.com",
                    }
                },
                {"record": {"FirstName": "Ginny"}},  # no LastName: Salesforce refuses this one
            ],
        },
    )
    write(
        "write-to-salesforce",
        "account",
        {"type": "create", "record": {"companyName": "Gringotts Wizarding Bank"}},
    )
    return {"harry": harry}


def sandbox_records(sandbox: str, tenant: dict[str, Any], object_name: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{sandbox}/_sandbox/tenants/{tenant['tenantId']}/records/{object_name}")
    response.raise_for_status()
    return list(response.json()["records"])


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2)

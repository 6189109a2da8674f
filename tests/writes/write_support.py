"""A customer of a writeback project, set up end to end against the sandbox."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from conftest import Sandbox, Server

SALESFORCE_MANIFEST = """
specVersion: 1.0.0
integrations:
  - name: sf
    provider: salesforce
    read:
      objects:
        - objectName: account
          destination: wh
          schedule: "*/30 * * * *"
          requiredFields:
            - fieldName: Name
              mapToName: companyName
          optionalFields:
            - mapToName: notes
              prompt: Where do you keep notes?
            - mapToName: tier
              prompt: Which field holds the customer tier?
    write:
      objects:
        - objectName: account
          inheritMapping: true
        - objectName: contact
        - objectName: lead
        - objectName: touchpoints__c
"""

HUBSPOT_MANIFEST = """
specVersion: 1.0.0
integrations:
  - name: hs
    provider: hubspot
    read:
      objects:
        - objectName: contacts
          destination: wh
          schedule: "*/30 * * * *"
          mapToName: people
          requiredFields:
            - fieldName: mobilephone
              mapToName: phone
            - fieldName: email
          optionalFields:
            - mapToName: notes
              prompt: Where do you keep notes?
            - mapToName: pronoun
    write:
      objects:
        - objectName: contacts
          inheritMapping: true
        - objectName: companies
        - objectName: deals
"""

CLIENT_ID, CLIENT_SECRET = "test-client", "test-client-secret"


@dataclass
class Customer:
    stack: Server
    sandbox: Sandbox
    provider: str
    project: dict[str, Any]
    api: httpx.Client
    tenant: dict[str, Any]
    connection: dict[str, Any]
    integration: dict[str, Any]
    installation: dict[str, Any]
    group_ref: str

    @property
    def p(self) -> str:
        return f"/projects/{self.project['id']}"

    def write(self, object_name: str, body: dict[str, Any], **params: str) -> httpx.Response:
        path = f"{self.p}/integrations/{self.integration['id']}/objects/{object_name}"
        return self.api.post(path, json={"groupRef": self.group_ref, **body}, params=params)

    def records(self, object_name: str) -> list[dict[str, Any]]:
        response = self.sandbox.admin.get(
            f"/_sandbox/tenants/{self.tenant['tenantId']}/records/{object_name}"
        )
        assert response.status_code == 200, response.text
        return list(response.json()["records"])

    def record(self, object_name: str, record_id: str) -> dict[str, Any]:
        response = self.sandbox.admin.get(
            f"/_sandbox/tenants/{self.tenant['tenantId']}/records/{object_name}/{record_id}"
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def operation(self, operation_id: str) -> dict[str, Any]:
        response = self.api.get(f"{self.p}/operations/{operation_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def logs(self, operation_id: str) -> list[dict[str, Any]]:
        return list(self.api.get(f"{self.p}/operations/{operation_id}/logs").json())

    def get_connection(self) -> dict[str, Any]:
        return dict(self.api.get(f"{self.p}/connections/{self.connection['id']}").json())

    def faults(self, **faults: Any) -> None:
        response = self.sandbox.admin.put(
            f"/_sandbox/tenants/{self.tenant['tenantId']}/faults", json=faults
        )
        assert response.status_code == 200, response.text

    def stats(self) -> dict[str, int]:
        response = self.sandbox.admin.get(f"/_sandbox/tenants/{self.tenant['tenantId']}/stats")
        return dict(response.json()["byEndpoint"])

    def patch_object(
        self, object_name: str, changes: list[dict[str, Any]], action: str = "write"
    ) -> None:
        response = self.api.patch(
            f"{self.p}/integrations/{self.integration['id']}/objects/{object_name}/config-content",
            json={"groupRef": self.group_ref, "action": action, "changes": changes},
        )
        assert response.status_code == 200, response.text


def new_customer(
    stack: Server,
    sandbox: Sandbox,
    provider: str,
    *,
    write_objects: dict[str, Any] | None = None,
    read_objects: dict[str, Any] | None = None,
    manifest: str | None = None,
    tenant_options: dict[str, Any] | None = None,
    provider_app: bool = True,
    access_token_expires_at: str | None = "2099-01-01T00:00:00Z",
) -> Customer:
    project, api = stack.new_project(provider[:2])
    p = f"/projects/{project['id']}"
    tenant = sandbox.new_tenant(
        provider, clientId=CLIENT_ID, clientSecret=CLIENT_SECRET, **(tenant_options or {})
    )
    if provider_app:
        made = api.post(
            f"{p}/provider-apps",
            json={
                "provider": provider,
                "clientId": CLIENT_ID,
                "clientSecret": CLIENT_SECRET,
                "scopes": ["oauth"],
            },
        )
        assert made.status_code == 200, made.text
    group_ref = "group-" + secrets.token_hex(4)
    access: dict[str, Any] = {"token": tenant["accessToken"]}
    if access_token_expires_at:
        access["expiresAt"] = access_token_expires_at
    body: dict[str, Any] = {
        "groupRef": group_ref,
        "consumerRef": "user-1",
        "provider": provider,
        "oauth2AuthorizationCode": {
            "accessToken": access,
            "refreshToken": {"token": tenant["refreshToken"]},
        },
    }
    if provider == "salesforce":
        body["providerMetadata"] = {"instanceUrl": {"value": tenant["instanceUrl"]}}
    connection = api.post(f"{p}/connections:generate", json=body)
    assert connection.status_code == 201, connection.text
    text = manifest or (SALESFORCE_MANIFEST if provider == "salesforce" else HUBSPOT_MANIFEST)
    deployed = api.put(f"{p}/integrations:batch", json={"sourceYaml": text})
    assert deployed.status_code == 200, deployed.text
    integration = deployed.json()[0]
    if write_objects is None:
        names = [
            o["objectName"] for o in integration["latestRevision"]["content"]["write"]["objects"]
        ]
        write_objects = {name: {"objectName": name} for name in names}
    content: dict[str, Any] = {"write": {"objects": write_objects}}
    if read_objects:
        content["read"] = {"objects": read_objects}
    installation = api.post(
        f"{p}/integrations/{integration['id']}/installations",
        json={"groupRef": group_ref, "config": {"content": content}},
    )
    assert installation.status_code == 201, installation.text
    return Customer(
        stack,
        sandbox,
        provider,
        project,
        api,
        tenant,
        connection.json(),
        integration,
        installation.json(),
        group_ref,
    )


TERMINAL = ("success", "failure")


def wait_for(customer: Customer, operation_id: str, timeout: float = 30) -> dict[str, Any]:
    """The operation once it is final (success or failure)."""
    return wait_all(customer, [operation_id], timeout)[operation_id]


def wait_all(
    customer: Customer, operation_ids: Iterable[str], timeout: float = 60
) -> dict[str, dict[str, Any]]:
    """Every operation once final, by id; fails the test if one never is."""
    wanted = set(operation_ids)
    done: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while len(done) < len(wanted) and time.monotonic() < deadline:
        for operation_id in wanted - set(done):
            operation = customer.operation(operation_id)
            if operation["status"] in TERMINAL:
                done[operation_id] = operation
        time.sleep(0.05)
    missing = wanted - set(done)
    assert not missing, f"{len(missing)} accepted operations never finished"
    return done

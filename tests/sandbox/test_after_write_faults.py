"""Faults that strike after the write: the request is processed, then its answer is lost.

These are the faults that leave a client unable to know whether its write happened."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conftest import Sandbox
from writeback.sandbox.faults import FaultConfig, FaultConfigError, FaultInjector

SF_VERSION = "62.0"
SHORT = {"timeoutSeconds": 1}
CLIENT_TIMEOUT = 0.3
LOST = (httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout)

# provider -> (create path, body, admin object name)
CREATES: dict[str, tuple[str, dict[str, Any], str]] = {
    "salesforce": (
        f"/services/data/v{SF_VERSION}/sobjects/Contact",
        {"LastName": "Lost", "Email": "lost@example.com"},
        "Contact",
    ),
    "hubspot": (
        "/crm/v3/objects/contacts",
        {"properties": {"email": "lost@example.com", "lastname": "Lost"}},
        "contacts",
    ),
}


def records(sandbox: Sandbox, tenant: dict[str, Any], object_name: str) -> list[dict[str, Any]]:
    response = sandbox.admin.get(f"/_sandbox/tenants/{tenant['tenantId']}/records/{object_name}")
    assert response.status_code == 200, response.text
    return list(response.json()["records"])


def emails(found: list[dict[str, Any]]) -> list[str]:
    # Salesforce records keep their fields at the top, HubSpot's under `properties`.
    return sorted(r.get("Email") or r.get("properties", {}).get("email") for r in found)


def stats(sandbox: Sandbox, tenant: dict[str, Any]) -> dict[str, int]:
    response = sandbox.admin.get(f"/_sandbox/tenants/{tenant['tenantId']}/stats")
    return dict(response.json()["byEndpoint"])


def post(sandbox: Sandbox, tenant: dict[str, Any], path: str, body: Any) -> httpx.Response:
    return httpx.post(
        sandbox.url + path,
        json=body,
        headers={"Authorization": f"Bearer {tenant['accessToken']}"},
        timeout=CLIENT_TIMEOUT,
    )


@pytest.mark.parametrize("provider", ["salesforce", "hubspot"])
@pytest.mark.parametrize(
    ("faults", "caught"),
    [
        ({"failNext": ["drop_after_write"]}, (httpx.RemoteProtocolError, httpx.ReadError)),
        ({"failNext": ["timeout_after_write"], **SHORT}, httpx.ReadTimeout),
        ({"dropAfterWriteRate": 1.0}, (httpx.RemoteProtocolError, httpx.ReadError)),
        ({"timeoutAfterWriteRate": 1.0, **SHORT}, httpx.ReadTimeout),
    ],
    ids=["drop_after_write", "timeout_after_write", "dropAfterWriteRate", "timeoutAfterWriteRate"],
)
def test_create_fails_on_the_client_but_the_record_exists(
    sandbox: Sandbox, provider: str, faults: dict[str, Any], caught: Any
) -> None:
    tenant = sandbox.new_tenant(provider, faults=faults)
    path, body, object_name = CREATES[provider]
    with pytest.raises(caught):
        post(sandbox, tenant, path, body)
    assert emails(records(sandbox, tenant, object_name)) == ["lost@example.com"]
    name = "sobject.create" if provider == "salesforce" else "objects.create"
    assert stats(sandbox, tenant)[name] == 1


def test_salesforce_usage_counts_the_lost_call(sandbox: Sandbox) -> None:
    tenant = sandbox.new_tenant("salesforce", faults={"failNext": ["drop_after_write"]})
    path, body, _ = CREATES["salesforce"]
    with pytest.raises(LOST):
        post(sandbox, tenant, path, body)
    answer = httpx.get(
        f"{sandbox.url}/services/data/v{SF_VERSION}/limits",
        headers={"Authorization": f"Bearer {tenant['accessToken']}"},
    )
    assert answer.headers["Sforce-Limit-Info"].startswith("api-usage=2/")


@pytest.mark.parametrize("kind", ["drop_after_write", "timeout_after_write"])
def test_salesforce_composite_create_writes_everything_then_loses_the_answer(
    sandbox: Sandbox, kind: str
) -> None:
    tenant = sandbox.new_tenant("salesforce", faults={"failNext": [kind], **SHORT})
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Contact"}, "LastName": f"B{i}", "Email": f"b{i}@example.com"}
            for i in range(3)
        ],
    }
    with pytest.raises(LOST):
        post(sandbox, tenant, f"/services/data/v{SF_VERSION}/composite/sobjects", body)
    assert emails(records(sandbox, tenant, "Contact")) == [f"b{i}@example.com" for i in range(3)]
    assert stats(sandbox, tenant)["collections.create"] == 1


@pytest.mark.parametrize("kind", ["drop_after_write", "timeout_after_write"])
def test_hubspot_batch_create_writes_everything_then_loses_the_answer(
    sandbox: Sandbox, kind: str
) -> None:
    tenant = sandbox.new_tenant("hubspot", faults={"failNext": [kind], **SHORT})
    body = {"inputs": [{"properties": {"email": f"b{i}@example.com"}} for i in range(3)]}
    with pytest.raises(LOST):
        post(sandbox, tenant, "/crm/v3/objects/contacts/batch/create", body)
    assert emails(records(sandbox, tenant, "contacts")) == [f"b{i}@example.com" for i in range(3)]
    assert stats(sandbox, tenant)["batch.create"] == 1


def test_deletes_happen_before_the_answer_is_lost(sandbox: Sandbox) -> None:
    org = sandbox.new_tenant("salesforce")
    headers = {"Authorization": f"Bearer {org['accessToken']}"}
    sobjects = f"{sandbox.url}/services/data/v{SF_VERSION}/sobjects/Contact"
    created = httpx.post(sobjects, json={"LastName": "Gone"}, headers=headers).json()
    sandbox.admin.patch(
        f"/_sandbox/tenants/{org['tenantId']}/faults", json={"failNext": ["drop_after_write"]}
    )
    with pytest.raises(LOST):
        httpx.delete(f"{sobjects}/{created['id']}", headers=headers)
    assert httpx.get(f"{sobjects}/{created['id']}", headers=headers).status_code == 404

    portal = sandbox.new_tenant("hubspot")
    headers = {"Authorization": f"Bearer {portal['accessToken']}"}
    contacts = f"{sandbox.url}/crm/v3/objects/contacts"
    made = httpx.post(contacts, json={"properties": {"email": "d@example.com"}}, headers=headers)
    sandbox.admin.patch(
        f"/_sandbox/tenants/{portal['tenantId']}/faults", json={"failNext": ["drop_after_write"]}
    )
    with pytest.raises(LOST):
        httpx.delete(f"{contacts}/{made.json()['id']}", headers=headers)
    assert [r["archived"] for r in records(sandbox, portal, "contacts")] == [True]


def test_after_write_rates_are_validated_and_drawn_like_the_others() -> None:
    with pytest.raises(FaultConfigError, match="add up to more than 1"):
        FaultConfig.from_json({"dropRate": 0.5, "dropAfterWriteRate": 0.3, "timeoutRate": 0.3})
    with pytest.raises(FaultConfigError, match="timeoutAfterWriteRate"):
        FaultConfig.from_json({"timeoutAfterWriteRate": 1.5})
    with pytest.raises(FaultConfigError, match="failNext"):
        FaultConfig.from_json({"failNext": ["drop_after_read"]})
    config = {"seed": 3, "dropAfterWriteRate": 0.3, "timeoutAfterWriteRate": 0.3}
    runs = []
    for _ in range(2):
        injector = FaultInjector(FaultConfig.from_json(config))
        runs.append([d.kind if d else None for d in (injector.draw() for _ in range(50))])
    assert runs[0] == runs[1]  # same seed, same faults
    assert {"drop_after_write", "timeout_after_write", None} == set(runs[0])


def test_hubspot_token_endpoint_mints_then_loses_the_answer(sandbox: Sandbox) -> None:
    tenant = sandbox.new_tenant("hubspot", faults={"failNext": ["drop_after_write"]})
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tenant["refreshToken"],
        "client_id": "any-app",
    }
    with pytest.raises(LOST):
        httpx.post(sandbox.url + "/oauth/v1/token", data=form)
    again = httpx.post(sandbox.url + "/oauth/v1/token", data=form)
    assert again.status_code == 200, again.text
    assert stats(sandbox, tenant)["oauth.token"] == 2

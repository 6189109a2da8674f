"""Token refresh on the write path: before expiry, on 401, once under concurrency, rotation,
and a refused refresh token marking the connection bad_credentials."""

from __future__ import annotations

import asyncio

import httpx

from conftest import Sandbox, Server
from writes.write_support import Customer, new_customer


def creds(customer: Customer) -> dict[str, str]:
    connection = customer.stack.admin.get(  # reading tokens needs the `credentials` scope
        f"{customer.p}/connections/{customer.connection['id']}", params={"includeCreds": "true"}
    ).json()
    oauth = connection["oauth2AuthorizationCode"]
    return {
        "access": oauth["accessToken"]["token"],
        "refresh": oauth["refreshToken"]["token"],
        "status": connection["status"],
    }


def expire_access_tokens(customer: Customer) -> None:
    response = customer.sandbox.admin.post(
        f"/_sandbox/tenants/{customer.tenant['tenantId']}/tokens/expire", json={}
    )
    assert response.json()["expired"] >= 1


def test_token_expiring_in_the_middle_of_a_run_is_refreshed_on_401(
    stack: Server, sandbox: Sandbox
) -> None:
    customer = new_customer(stack, sandbox, "salesforce")
    first = customer.write("contact", {"type": "create", "record": {"LastName": "Before"}})
    assert first.status_code == 200
    before = creds(customer)
    expire_access_tokens(customer)  # the provider kills the session mid-run
    second = customer.write("contact", {"type": "create", "record": {"LastName": "After"}})
    assert second.status_code == 200, second.text
    after = creds(customer)
    assert after["access"] != before["access"]
    assert after["refresh"] == before["refresh"]  # Salesforce keeps it: so do we
    assert customer.stats().get("oauth.token") == 1
    assert {r["LastName"] for r in customer.records("Contact")} == {"Before", "After"}


def test_expired_token_is_refreshed_before_the_call(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(
        stack, sandbox, "hubspot", access_token_expires_at="2020-01-01T00:00:00Z"
    )
    response = customer.write("companies", {"type": "create", "record": {"name": "Fresh"}})
    assert response.status_code == 200, response.text
    stats = customer.stats()
    assert stats.get("oauth.token") == 1
    assert stats.get("objects.create") == 1  # no failed 401 attempt before the refresh
    connection = customer.api.get(f"{customer.p}/connections/{customer.connection['id']}").json()
    assert connection["oauth2AuthorizationCode"]["accessToken"]["expiresAt"] > "2026"


def test_rotated_refresh_tokens_are_stored(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(
        stack, sandbox, "salesforce", tenant_options={"settings": {"rotateRefreshTokens": True}}
    )
    before = creds(customer)
    expire_access_tokens(customer)
    assert (
        customer.write("contact", {"type": "create", "record": {"LastName": "R"}}).status_code
        == 200
    )
    after = creds(customer)
    assert after["refresh"] != before["refresh"]
    # and the stored one is the one that works next time
    expire_access_tokens(customer)
    assert (
        customer.write("contact", {"type": "create", "record": {"LastName": "S"}}).status_code
        == 200
    )
    assert customer.stats().get("oauth.token") == 2


async def test_concurrent_writes_refresh_once(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "hubspot")
    warm = customer.write("companies", {"type": "create", "record": {"name": "warm"}})
    assert warm.status_code == 200
    expire_access_tokens(customer)
    path = f"{customer.p}/integrations/{customer.integration['id']}/objects/companies"
    async with httpx.AsyncClient(
        base_url=stack.url + "/v1", headers=dict(customer.api.headers), timeout=30
    ) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    path,
                    json={
                        "groupRef": customer.group_ref,
                        "type": "create",
                        "record": {"name": f"c{i}"},
                    },
                )
                for i in range(20)
            )
        )
    assert [r.status_code for r in responses] == [200] * 20
    assert customer.stats().get("oauth.token") == 1
    assert len(customer.records("companies")) == 21


def test_refused_refresh_token_needs_a_reconnect(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "salesforce")
    admin = f"/_sandbox/tenants/{customer.tenant['tenantId']}"
    sandbox.admin.post(f"{admin}/tokens/revoke", json={})
    expire_access_tokens(customer)
    response = customer.write("contact", {"type": "create", "record": {"LastName": "X"}})
    assert response.status_code == 424
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert "reconnect" in problem["remedy"]
    assert "invalid_grant" in problem["detail"]
    assert creds(customer)["status"] == "bad_credentials"
    operation = customer.operation(problem["context"]["operationId"])
    assert operation["status"] == "failure"
    # and it stays refused, without hammering the provider's token endpoint
    again = customer.write("contact", {"type": "create", "record": {"LastName": "Y"}})
    assert again.status_code == 424


def test_missing_provider_app_is_the_projects_problem(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(
        stack,
        sandbox,
        "hubspot",
        provider_app=False,
        access_token_expires_at="2020-01-01T00:00:00Z",
    )
    response = customer.write("companies", {"type": "create", "record": {"name": "x"}})
    assert response.status_code == 409
    assert "provider app" in response.json()["remedy"]
    assert creds(customer)["status"] != "bad_credentials"  # not the customer's fault

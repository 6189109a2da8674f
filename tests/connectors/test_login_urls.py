"""Where a connection refreshes its tokens: Salesforce login hosts, from `connections:generate`
to the token URL (and its sandbox equivalent)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from conftest import Sandbox, Server
from writeback.catalog.urls import to_sandbox_host, token_url
from writeback.connectors.salesforce.instance import (
    InstanceUrlError,
    check_login_url,
    login_url_for_instance,
)
from writeback.store.engine import create_engine
from writeback.store.tables import Connection
from writes.write_support import Customer, new_customer

SANDBOX = "http://127.0.0.1:9000"


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("https://login.salesforce.com", "https://login.salesforce.com"),
        ("https://test.salesforce.com/", "https://test.salesforce.com"),
        ("https://Acme.my.salesforce.com", "https://acme.my.salesforce.com"),
        (
            "https://acme--dev.sandbox.my.salesforce.com",
            "https://acme--dev.sandbox.my.salesforce.com",
        ),
    ],
)
def test_login_urls_accepted(given: str, normalised: str) -> None:
    assert check_login_url(given) == normalised


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("http://test.salesforce.com", "https"),
        ("https://test.salesforce.com/services/oauth2/token", "bare origin"),
        ("https://test.salesforce.com?x=1", "bare origin"),
        ("https://user:pw@test.salesforce.com", "credentials or a port"),
        ("https://test.salesforce.com:8443", "credentials or a port"),
        ("https://evil.example", "not a Salesforce domain"),
        ("https://my.salesforce.com", "not a Salesforce login host"),
        ("https://acme.my.salesforce.com.evil.example", "not a Salesforce domain"),
        ("https://acme.force.com", "not a Salesforce login host"),
    ],
)
def test_login_urls_refused(given: str, why: str) -> None:
    with pytest.raises(InstanceUrlError, match=why):
        check_login_url(given)


@pytest.mark.parametrize(
    ("instance", "login"),
    [
        ("https://acme--dev.sandbox.my.salesforce.com", "https://test.salesforce.com"),
        ("https://ACME--uat.sandbox.my.salesforce.com/", "https://test.salesforce.com"),
        ("https://acme.my.salesforce.com", None),
        ("https://na1.salesforce.com", None),
        ("http://127.0.0.1:9000", None),
        (None, None),
    ],
)
def test_login_url_derived_from_the_instance(instance: str | None, login: str | None) -> None:
    assert login_url_for_instance(instance) == login


def test_token_urls() -> None:
    assert token_url("salesforce", None) == "https://login.salesforce.com/services/oauth2/token"
    assert (
        token_url("salesforce", "https://test.salesforce.com")
        == "https://test.salesforce.com/services/oauth2/token"
    )
    assert token_url("hubspot", None) == "https://api.hubapi.com/oauth/v1/token"
    # sandbox mode: default hosts at the sandbox root, others under /_host/<host>
    assert token_url("salesforce", None, SANDBOX) == f"{SANDBOX}/services/oauth2/token"
    assert (
        token_url("salesforce", "https://login.salesforce.com", SANDBOX)
        == f"{SANDBOX}/services/oauth2/token"
    )
    assert (
        token_url("salesforce", "https://test.salesforce.com", SANDBOX)
        == f"{SANDBOX}/_host/test.salesforce.com/services/oauth2/token"
    )
    assert (
        token_url("salesforce", "https://acme.my.salesforce.com", SANDBOX)
        == f"{SANDBOX}/_host/acme.my.salesforce.com/services/oauth2/token"
    )
    assert token_url("hubspot", None, SANDBOX) == f"{SANDBOX}/oauth/v1/token"
    assert to_sandbox_host("https://api.hubapi.com/crm/v3", SANDBOX) == f"{SANDBOX}/crm/v3"


# --- connections:generate --------------------------------------------------------------


def salesforce_body(metadata: dict[str, Any]) -> dict[str, Any]:
    return {
        "groupRef": "org-login",
        "consumerRef": "user-1",
        "provider": "salesforce",
        "providerMetadata": metadata,
        "oauth2AuthorizationCode": {
            "accessToken": {"token": "00Dxx!access"},
            "refreshToken": {"token": "5Aep-refresh"},
        },
    }


def stored_login_url(server: Server, connection_id: str) -> str | None:
    async def read() -> str | None:
        engine = create_engine(server.settings.database_url)
        try:
            async with engine.connect() as conn:
                query = select(Connection.login_url).where(Connection.id == connection_id)
                return (await conn.execute(query)).scalar_one()
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.mark.parametrize(
    ("metadata", "login_url"),
    [
        (
            {
                "instanceUrl": {"value": "https://acme--dev.sandbox.my.salesforce.com"},
                "loginUrl": {"value": "https://test.salesforce.com/", "source": "input"},
            },
            "https://test.salesforce.com",
        ),
        (
            {
                "instanceUrl": {"value": "https://acme.my.salesforce.com"},
                "loginUrl": {"value": "https://acme.my.salesforce.com"},
            },
            "https://acme.my.salesforce.com",
        ),
        (  # derived: a sandbox org's My Domain logs in at test.salesforce.com
            {"instanceUrl": {"value": "https://acme--dev.sandbox.my.salesforce.com"}},
            "https://test.salesforce.com",
        ),
        ({"instanceUrl": {"value": "https://acme.my.salesforce.com"}}, None),
    ],
)
def test_generate_stores_the_login_url(
    server: Server, metadata: dict[str, Any], login_url: str | None
) -> None:
    project, client = server.new_project("login")
    response = client.post(
        f"/projects/{project['id']}/connections:generate", json=salesforce_body(metadata)
    )
    assert response.status_code == 201, response.text
    assert response.json()["providerMetadata"] == metadata  # kept as sent
    assert stored_login_url(server, response.json()["id"]) == login_url


@pytest.mark.parametrize(
    "value",
    [
        "http://test.salesforce.com",
        "https://evil.example",
        "https://test.salesforce.com/services/oauth2/token",
        "https://test.salesforce.com:444",
        "https://u:p@login.salesforce.com",
    ],
)
def test_generate_refuses_a_bad_login_url(server: Server, value: str) -> None:
    project, client = server.new_project("login")
    metadata = {
        "instanceUrl": {"value": "https://acme.my.salesforce.com"},
        "loginUrl": {"value": value},
    }
    response = client.post(
        f"/projects/{project['id']}/connections:generate", json=salesforce_body(metadata)
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["detail"].startswith("providerMetadata.loginUrl.value: ")
    assert [issue["name"] for issue in problem["issues"]] == ["providerMetadata.loginUrl.value"]
    assert "test.salesforce.com" in problem["remedy"]
    listed = client.get(f"/projects/{project['id']}/connections").json()
    assert listed == []  # nothing was stored


# --- a Salesforce sandbox org, end to end ------------------------------------------------


def sandbox_org_customer(stack: Server, sandbox: Sandbox, login_url: str | None) -> Customer:
    """A customer whose org is a Salesforce sandbox (it logs in at test.salesforce.com),
    writing through a connection generated with `login_url` as providerMetadata.loginUrl."""
    customer = new_customer(
        stack,
        sandbox,
        "salesforce",
        tenant_options={"settings": {"loginHost": "test.salesforce.com"}},
    )
    metadata: dict[str, Any] = {"instanceUrl": {"value": customer.tenant["instanceUrl"]}}
    if login_url is not None:
        metadata["loginUrl"] = {"value": login_url, "source": "input"}
    made = customer.api.post(
        f"{customer.p}/connections:generate",
        json={
            "groupRef": customer.group_ref,
            "consumerRef": "user-2",
            "provider": "salesforce",
            "providerMetadata": metadata,
            "oauth2AuthorizationCode": {
                "accessToken": {
                    "token": customer.tenant["accessToken"],
                    "expiresAt": "2099-01-01T00:00:00Z",
                },
                "refreshToken": {"token": customer.tenant["refreshToken"]},
            },
        },
    )
    assert made.status_code == 201, made.text
    moved = customer.api.patch(
        f"{customer.p}/integrations/{customer.integration['id']}/installations"
        f"/{customer.installation['id']}",
        json={"updateMask": ["connectionId"], "installation": {"connectionId": made.json()["id"]}},
    )
    assert moved.status_code == 200, moved.text
    customer.connection = made.json()
    expired = sandbox.admin.post(
        f"/_sandbox/tenants/{customer.tenant['tenantId']}/tokens/expire", json={}
    )
    assert expired.json()["expired"] >= 1
    return customer


def test_a_sandbox_org_refreshes_at_test_salesforce_com(stack: Server, sandbox: Sandbox) -> None:
    customer = sandbox_org_customer(stack, sandbox, "https://test.salesforce.com")
    response = customer.write("contact", {"type": "create", "record": {"LastName": "Sandbox"}})
    assert response.status_code == 200, response.text
    assert customer.stats()["oauth.token"] == 1
    assert customer.get_connection()["status"] in ("created", "working")
    assert [r["LastName"] for r in customer.records("Contact")] == ["Sandbox"]


def test_a_sandbox_org_refreshed_at_login_salesforce_com_is_refused(
    stack: Server, sandbox: Sandbox
) -> None:
    customer = sandbox_org_customer(stack, sandbox, None)  # no loginUrl: login.salesforce.com
    response = customer.write("contact", {"type": "create", "record": {"LastName": "Lost"}})
    assert response.status_code == 424, response.text
    problem = response.json()
    assert "invalid_grant" in problem["detail"]
    assert "reconnect" in problem["remedy"]
    assert customer.get_connection()["status"] == "bad_credentials"
    assert "oauth.token" not in customer.stats()  # refused: no token was issued
    assert customer.records("Contact") == []

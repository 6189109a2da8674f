"""Login hosts: the OAuth endpoints at `/_host/{host}/…`, and orgs that log in only at theirs
(tenant setting `loginHost`)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

if TYPE_CHECKING:
    from sandbox.salesforce.conftest import SfOrg

CALLBACK = "https://app.example.com/oauth/callback"
REFUSED = {"error": "invalid_grant", "error_description": "expired access/refresh token"}


def oauth_path(host: str | None, endpoint: str) -> str:
    """`/services/oauth2/<endpoint>` as served by login host `host` (None: the root, which is
    login.salesforce.com)."""
    prefix = f"/_host/{host}" if host else ""
    return f"{prefix}/services/oauth2/{endpoint}"


def refresh(org: SfOrg, host: str | None, refresh_token: str | None = None) -> httpx.Response:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token or org.tenant["refreshToken"],
        "client_id": "any-app",
    }
    return org.sandbox.admin.post(oauth_path(host, "token"), data=form)


def code_for(org: SfOrg, host: str | None) -> str:
    approved = org.sandbox.admin.get(
        oauth_path(host, "authorize"),
        params={
            "response_type": "code",
            "client_id": "any-app",
            "redirect_uri": CALLBACK,
            "sandbox_tenant": org.tenant_id,
            "sandbox_approve": "1",
        },
    )
    assert approved.status_code == 302, approved.text
    return parse_qs(urlsplit(approved.headers["Location"]).query)["code"][0]


def exchange(org: SfOrg, host: str | None, code: str) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": "any-app",
        "redirect_uri": CALLBACK,
    }
    return org.sandbox.admin.post(oauth_path(host, "token"), data=form)


def org_at(new_org: Callable[..., SfOrg], login_host: str, **settings: Any) -> SfOrg:
    return new_org(settings={"loginHost": login_host, **settings})


def test_production_orgs_log_in_at_login_salesforce_com(
    new_org: Callable[..., SfOrg],
) -> None:
    org = new_org()  # loginHost defaults to login.salesforce.com
    assert org.admin("GET", "/settings").json()["loginHost"] == "login.salesforce.com"
    assert refresh(org, None).status_code == 200
    assert refresh(org, "login.salesforce.com").status_code == 200
    at_test = refresh(org, "test.salesforce.com")
    assert at_test.status_code == 400
    assert at_test.json() == REFUSED
    assert org.stats()["oauth.token"] == 2  # the refused grant issued nothing


def test_sandbox_orgs_log_in_at_test_salesforce_com(new_org: Callable[..., SfOrg]) -> None:
    org = org_at(new_org, "test.salesforce.com", rotateRefreshTokens=True)
    at_login = refresh(org, None)
    assert at_login.status_code == 400
    assert at_login.json() == REFUSED
    also_login = refresh(org, "login.salesforce.com")
    assert also_login.json() == REFUSED
    # the refusals did not use up (rotate) the refresh token
    at_test = refresh(org, "test.salesforce.com")
    assert at_test.status_code == 200, at_test.text
    body = at_test.json()
    assert body["refresh_token"] != org.tenant["refreshToken"]
    sf = org.client(token=body["access_token"])
    assert sf.Account.create({"Name": "sandbox org"})["success"] is True


def test_code_grant_at_the_wrong_host_is_refused_and_keeps_the_code(
    new_org: Callable[..., SfOrg],
) -> None:
    org = org_at(new_org, "test.salesforce.com")
    code = code_for(org, "test.salesforce.com")
    wrong = exchange(org, None, code)
    assert wrong.status_code == 400
    assert wrong.json() == REFUSED
    right = exchange(org, "test.salesforce.com", code)
    assert right.status_code == 200, right.text
    assert right.json()["refresh_token"].startswith("5Aep")


def test_my_domain_hosts(new_org: Callable[..., SfOrg]) -> None:
    name = "acme" + secrets.token_hex(3)
    sandbox_domain = f"{name}--dev.sandbox.my.salesforce.com"
    sandbox_org = org_at(new_org, sandbox_domain)
    assert refresh(sandbox_org, sandbox_domain).status_code == 200
    assert refresh(sandbox_org, "test.salesforce.com").status_code == 200
    assert refresh(sandbox_org, None).json() == REFUSED  # a sandbox org
    assert refresh(sandbox_org, f"{name}.my.salesforce.com").json() == REFUSED  # not its domain
    production_domain = f"{name}.my.salesforce.com"
    production_org = org_at(new_org, production_domain)
    assert refresh(production_org, production_domain).status_code == 200
    assert refresh(production_org, None).status_code == 200
    assert refresh(production_org, "test.salesforce.com").json() == REFUSED
    assert refresh(production_org, sandbox_domain).json() == REFUSED


def test_other_oauth_endpoints_are_served_at_login_hosts(new_org: Callable[..., SfOrg]) -> None:
    org = org_at(new_org, "test.salesforce.com")
    host = "test.salesforce.com"
    introspected = org.sandbox.admin.post(
        oauth_path(host, "introspect"), data={"token": org.tenant["refreshToken"]}
    )
    assert introspected.status_code == 200
    assert introspected.json()["active"] is True
    revoked = org.sandbox.admin.post(
        oauth_path(host, "revoke"), data={"token": org.tenant["refreshToken"]}
    )
    assert revoked.status_code == 200
    assert refresh(org, host).json() == REFUSED  # revoked now


@pytest.mark.parametrize(
    "host", ["example.com", "my.salesforce.com", "login.salesforce.com.evil.example"]
)
def test_unknown_login_hosts_are_not_found(new_org: Callable[..., SfOrg], host: str) -> None:
    org = new_org()
    response = refresh(org, host)
    assert response.status_code == 404
    assert "not a Salesforce login host" in response.json()["error_description"]


@pytest.mark.parametrize(
    "value", ["https://test.salesforce.com", "example.com", "TEST.salesforce.com", 3]
)
def test_login_host_setting_is_checked(new_org: Callable[..., SfOrg], value: Any) -> None:
    with pytest.raises(AssertionError, match="loginHost"):
        new_org(settings={"loginHost": value})


def test_token_latency_applies_at_login_hosts(new_org: Callable[..., SfOrg]) -> None:
    org = org_at(new_org, "test.salesforce.com")
    assert org.admin("PATCH", "/faults", json={"tokenLatencyMs": 300}).status_code == 200
    response = refresh(org, "test.salesforce.com")
    assert response.status_code == 200
    assert response.elapsed.total_seconds() >= 0.3

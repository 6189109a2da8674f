"""Fault `tokenLatencyMs`: the tenant's OAuth token requests wait before they are answered."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from conftest import Sandbox
from writeback.sandbox.faults import token_request_tenant
from writeback.sandbox.http import Request

TOKEN_PATHS = {
    "salesforce": ["/services/oauth2/token"],
    "hubspot": ["/oauth/v1/token", "/oauth/v3/token", "/oauth/2026-03/token"],
}
CALLBACK = "http://localhost:9999/callback"


def timed_post(sandbox: Sandbox, path: str, form: dict[str, str]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = sandbox.admin.post(path, data=form)
    return response, time.monotonic() - started


def refresh_form(tenant: dict[str, str]) -> dict[str, str]:
    return {
        "grant_type": "refresh_token",
        "refresh_token": tenant["refreshToken"],
        "client_id": "any-app",
    }


@pytest.mark.parametrize(
    ("provider", "path"), [(p, path) for p, paths in TOKEN_PATHS.items() for path in paths]
)
def test_refresh_waits_token_latency(sandbox: Sandbox, provider: str, path: str) -> None:
    slow = sandbox.new_tenant(provider, faults={"tokenLatencyMs": 500})
    response, elapsed = timed_post(sandbox, path, refresh_form(slow))
    assert response.status_code == 200, response.text
    assert elapsed >= 0.5


@pytest.mark.parametrize("provider", ["salesforce", "hubspot"])
def test_other_tenants_are_not_held_up(sandbox: Sandbox, provider: str) -> None:
    slow = sandbox.new_tenant(provider, faults={"tokenLatencyMs": 3000})
    fast = sandbox.new_tenant(provider)
    path = TOKEN_PATHS[provider][0]
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(timed_post, sandbox, path, refresh_form(slow))
        time.sleep(0.1)  # let the slow request reach the server first
        response = httpx.post(sandbox.url + path, data=refresh_form(fast), timeout=30)
        assert response.status_code == 200, response.text
        assert not pending.done()  # answered while the slow tenant's request still waits
        slow_response, slow_elapsed = pending.result()
    assert slow_response.status_code == 200 and slow_elapsed >= 3


def test_the_delayed_tenant_is_the_owner_of_the_token_or_code(sandbox: Sandbox) -> None:
    registry = sandbox.app.registry
    sf, hs = sandbox.new_tenant("salesforce"), sandbox.new_tenant("hubspot")

    def owner(provider: str, form: dict[str, str], query: bytes = b"") -> str | None:
        body = urlencode(form).encode()
        request = Request("POST", "/token", query, {}, body)
        found = token_request_tenant(registry, provider, request)
        return found.id if found else None

    assert owner("salesforce", refresh_form(sf)) == sf["tenantId"]
    assert owner("hubspot", refresh_form(hs)) == hs["tenantId"]
    assert owner("salesforce", refresh_form(hs)) is None  # another provider's token
    assert owner("salesforce", {**refresh_form(sf), "refresh_token": "nope"}) is None
    query = urlencode(refresh_form(sf)).encode()  # Salesforce also reads the query string
    assert owner("salesforce", {}, query) == sf["tenantId"]
    code = registry.new_auth_code(registry.tenants[hs["tenantId"]], "app", CALLBACK)
    form = {"grant_type": "authorization_code", "code": code.code}
    assert owner("hubspot", form) == hs["tenantId"]
    assert owner("hubspot", {"grant_type": "client_credentials"}) is None


def test_code_exchange_waits_token_latency(sandbox: Sandbox) -> None:
    slow = sandbox.new_tenant("salesforce", faults={"tokenLatencyMs": 500})
    approved = sandbox.admin.get(
        "/services/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": "any-app",
            "redirect_uri": CALLBACK,
            "sandbox_tenant": slow["tenantId"],
            "sandbox_approve": "1",
        },
    )
    assert approved.status_code == 302, approved.text
    code = parse_qs(urlsplit(approved.headers["Location"]).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": "any-app",
        "redirect_uri": CALLBACK,
    }
    response, elapsed = timed_post(sandbox, "/services/oauth2/token", form)
    assert response.status_code == 200, response.text
    assert elapsed >= 0.5


def test_hubspot_code_exchange_waits_token_latency(sandbox: Sandbox) -> None:
    slow = sandbox.new_tenant(
        "hubspot", clientId="slow-app", clientSecret="s", faults={"tokenLatencyMs": 500}
    )
    approved = sandbox.admin.get(
        "/oauth/authorize",
        params={
            "client_id": "slow-app",
            "redirect_uri": CALLBACK,
            "scope": "oauth",
            "sandbox_tenant": slow["tenantId"],
            "sandbox_approve": "1",
        },
    )
    assert approved.status_code == 302, approved.text
    code = parse_qs(urlsplit(approved.headers["Location"]).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": "slow-app",
        "client_secret": "s",
        "redirect_uri": CALLBACK,
    }
    response, elapsed = timed_post(sandbox, "/oauth/v1/token", form)
    assert response.status_code == 200, response.text
    assert elapsed >= 0.5


def test_token_latency_is_validated_and_changeable(sandbox: Sandbox) -> None:
    tenant = sandbox.new_tenant("salesforce")
    faults = f"/_sandbox/tenants/{tenant['tenantId']}/faults"
    bad = sandbox.admin.patch(faults, json={"tokenLatencyMs": -1})
    assert bad.status_code == 400
    assert "tokenLatencyMs" in bad.text
    assert sandbox.admin.get(faults).json()["tokenLatencyMs"] == 0
    assert sandbox.admin.patch(faults, json={"tokenLatencyMs": 500}).status_code == 200
    response, elapsed = timed_post(sandbox, "/services/oauth2/token", refresh_form(tenant))
    assert response.status_code == 200, response.text
    assert elapsed >= 0.5

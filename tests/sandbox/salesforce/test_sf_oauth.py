"""The OAuth web-server flow: authorize page, approval, code exchange, refresh, revoke."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from simple_salesforce.exceptions import SalesforceExpiredSession

from writeback.sandbox import salesforce
from writeback.sandbox.http import Response
from writeback.sandbox.salesforce.oauth import check_authorization
from writeback.sandbox.tenants import Registry

if TYPE_CHECKING:
    from sandbox.salesforce.conftest import SfOrg

CALLBACK = "https://app.example.com/oauth/callback"
AUTHORIZE = "/services/oauth2/authorize"
TOKEN = "/services/oauth2/token"


def app_org(new_org: Callable[..., SfOrg], **options: Any) -> tuple[SfOrg, str, str]:
    client_id = "3MVG9" + secrets.token_hex(8)
    client_secret = secrets.token_hex(16)
    org = new_org(clientId=client_id, clientSecret=client_secret, **options)
    return org, client_id, client_secret


def query_of(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(CALLBACK)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def authorize(org: SfOrg, client_id: str, **extra: str) -> httpx.Response:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "state": "xyz",
        "scope": "api refresh_token id",
        **extra,
    }
    return org.sandbox.admin.get(AUTHORIZE, params=params)


def code_for(org: SfOrg, client_id: str, **extra: str) -> str:
    response = authorize(org, client_id, sandbox_tenant=org.tenant_id, sandbox_approve="1", **extra)
    found = query_of(response)
    assert found["state"] == "xyz"
    return found["code"]


def exchange(
    org: SfOrg, code: str, client_id: str, secret: str | None, **extra: str
) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        **extra,
    }
    if secret is not None:
        form["client_secret"] = secret
    return org.sandbox.admin.post(TOKEN, data=form)


def test_approval_page_then_post_issues_a_code(new_org: Callable[..., SfOrg]) -> None:
    org, client_id, _ = app_org(new_org)
    page = authorize(org, client_id)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert org.tenant_id in page.text and org.tenant["orgId"] in page.text
    assert "name='state' value='xyz'" in page.text
    approved = org.sandbox.admin.post(
        AUTHORIZE,
        data={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "state": "xyz",
            "scope": "api refresh_token",
            "sandbox_tenant": org.tenant_id,
            "decision": "approve",
        },
    )
    found = query_of(approved)
    assert found["state"] == "xyz" and found["code"]
    denied = org.sandbox.admin.post(
        AUTHORIZE,
        data={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "state": "s2",
            "sandbox_tenant": org.tenant_id,
            "decision": "deny",
        },
    )
    assert query_of(denied) == {
        "error": "access_denied",
        "error_description": "end-user denied authorization",
        "state": "s2",
    }


def test_code_exchange_answers_like_salesforce(new_org: Callable[..., SfOrg]) -> None:
    org, client_id, secret = app_org(new_org)
    before_ms = int(time.time() * 1000)
    response = exchange(org, code_for(org, client_id), client_id, secret)
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == [
        "access_token",
        "refresh_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    ]
    assert body["access_token"].startswith(org.tenant["orgId"][:15] + "!")
    assert body["refresh_token"].startswith("5Aep")
    assert body["scope"] == "api refresh_token id"
    assert body["instance_url"] == org.sandbox.url
    assert body["id"] == org.tenant["idUrl"]
    assert body["token_type"] == "Bearer"
    assert isinstance(body["issued_at"], str) and int(body["issued_at"]) >= before_ms
    expected = base64.b64encode(
        hmac.new(
            secret.encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256
        ).digest()
    ).decode()
    assert body["signature"] == expected
    sf = org.client(token=body["access_token"])
    assert sf.Account.create({"Name": "via OAuth"})["success"] is True
    assert org.stats()["oauth.token"] == 1


def test_code_is_single_use(new_org: Callable[..., SfOrg]) -> None:
    org, client_id, secret = app_org(new_org)
    code = code_for(org, client_id)
    assert exchange(org, code, client_id, secret).status_code == 200
    again = exchange(org, code, client_id, secret)
    assert again.status_code == 400
    assert again.json() == {
        "error": "invalid_grant",
        "error_description": "invalid authorization code",
    }


def test_client_checks(new_org: Callable[..., SfOrg]) -> None:
    org, client_id, secret = app_org(new_org)
    code = code_for(org, client_id)
    wrong_secret = exchange(org, code, client_id, "nope")
    assert wrong_secret.status_code == 400
    assert wrong_secret.json() == {
        "error": "invalid_client",
        "error_description": "invalid client credentials",
    }
    wrong_client = exchange(org, code, "3MVG9other", secret)
    assert wrong_client.json() == {
        "error": "invalid_client_id",
        "error_description": "client identifier invalid",
    }
    wrong_callback = exchange(org, code, client_id, secret, redirect_uri="https://evil.example/cb")
    assert wrong_callback.json()["error"] == "redirect_uri_mismatch"
    # none of the failures above used up the code
    assert exchange(org, code, client_id, secret).status_code == 200
    unsupported = org.sandbox.admin.post(TOKEN, data={"grant_type": "password"})
    assert unsupported.json() == {
        "error": "unsupported_grant_type",
        "error_description": "grant type not supported",
    }


def test_refresh_and_revoke(new_org: Callable[..., SfOrg]) -> None:
    org, client_id, secret = app_org(new_org)
    first = exchange(org, code_for(org, client_id), client_id, secret).json()
    form = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "client_id": client_id,
        "client_secret": secret,
    }
    refreshed = org.sandbox.admin.post(TOKEN, data=form)
    assert refreshed.status_code == 200
    body = refreshed.json()
    assert "refresh_token" not in body  # Salesforce keeps the refresh token
    assert body["access_token"] != first["access_token"]
    assert org.client(token=body["access_token"]).Account.create({"Name": "r"})["success"]
    revoked = org.admin("POST", "/tokens/revoke", json={"refreshToken": first["refresh_token"]})
    assert revoked.json() == {"revoked": 1}
    after = org.sandbox.admin.post(TOKEN, data=form)
    assert after.status_code == 400
    assert after.json() == {
        "error": "invalid_grant",
        "error_description": "expired access/refresh token",
    }


def test_rotating_refresh_tokens(new_org: Callable[..., SfOrg]) -> None:
    org, client_id, secret = app_org(new_org, settings={"rotateRefreshTokens": True})
    first = exchange(org, code_for(org, client_id), client_id, secret).json()
    form = {"grant_type": "refresh_token", "client_id": client_id, "client_secret": secret}
    rotated = org.sandbox.admin.post(TOKEN, data={**form, "refresh_token": first["refresh_token"]})
    new_refresh = rotated.json()["refresh_token"]
    assert new_refresh != first["refresh_token"]
    old = org.sandbox.admin.post(TOKEN, data={**form, "refresh_token": first["refresh_token"]})
    assert old.json()["error"] == "invalid_grant"
    assert org.sandbox.admin.post(TOKEN, data={**form, "refresh_token": new_refresh}).is_success


def test_revoke_endpoint(new_org: Callable[..., SfOrg]) -> None:
    org, client_id, secret = app_org(new_org)
    tokens = exchange(org, code_for(org, client_id), client_id, secret).json()
    assert (
        org.sandbox.admin.post(
            "/services/oauth2/revoke", data={"token": tokens["access_token"]}
        ).status_code
        == 200
    )
    with pytest.raises(SalesforceExpiredSession):
        org.client(token=tokens["access_token"]).Account.create({"Name": "x"})
    revoke = org.sandbox.admin.post(
        "/services/oauth2/revoke", data={"token": tokens["refresh_token"]}
    )
    assert revoke.status_code == 200
    refresh = org.sandbox.admin.post(
        TOKEN,
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": client_id,
        },
    )
    assert refresh.json()["error"] == "invalid_grant"
    unknown = org.sandbox.admin.post("/services/oauth2/revoke", data={"token": "nope"})
    assert unknown.status_code == 400


def test_no_refresh_token_without_the_scope_and_api_scope_needed(
    new_org: Callable[..., SfOrg],
) -> None:
    org, client_id, secret = app_org(new_org)
    body = exchange(org, code_for(org, client_id, scope="id"), client_id, secret).json()
    assert "refresh_token" not in body and body["scope"] == "id"
    refused = org.http(token=body["access_token"]).get("/sobjects")
    assert refused.status_code == 401
    assert refused.json() == [
        {
            "message": "This session is not valid for use with the REST API",
            "errorCode": "INVALID_SESSION_ID",
        }
    ]


def test_pkce(new_org: Callable[..., SfOrg]) -> None:
    org, client_id, _ = app_org(new_org)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    params = {"code_challenge": challenge.decode(), "code_challenge_method": "S256"}
    code = code_for(org, client_id, **params)
    wrong = exchange(org, code, client_id, None, code_verifier="x" * 43)
    assert wrong.json() == {"error": "invalid_grant", "error_description": "invalid code verifier"}
    code = code_for(org, client_id, **params)
    # a PKCE client may leave out its secret
    assert exchange(org, code, client_id, None, code_verifier=verifier).status_code == 200
    bad_challenge = authorize(org, client_id, code_challenge="short", sandbox_tenant=org.tenant_id)
    assert query_of(bad_challenge)["error"] == "invalid_request"


def test_authorize_errors(new_org: Callable[..., SfOrg]) -> None:
    org, client_id, _ = app_org(new_org, settings={"callbackUrls": [CALLBACK]})
    mismatch = org.sandbox.admin.get(
        AUTHORIZE,
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": "https://elsewhere.example/cb",
        },
    )
    assert mismatch.status_code == 400 and "redirect_uri_mismatch" in mismatch.text
    wrong_type = authorize(org, client_id, response_type="token")
    assert query_of(wrong_type)["error"] == "unsupported_response_type"
    bad_scope = authorize(org, client_id, scope="api launch_missiles")
    assert query_of(bad_scope)["error"] == "invalid_scope"
    no_client = org.sandbox.admin.get(AUTHORIZE, params={"redirect_uri": CALLBACK})
    assert no_client.status_code == 400 and "invalid_client_id" in no_client.text


def test_unknown_client_gets_an_error_page() -> None:
    # In a registry of its own: the shared sandbox holds tenants that accept any client.
    registry = Registry({"salesforce": salesforce.KIND})
    registry.create_tenant("salesforce", client_id="3MVG9known")
    params = {"response_type": "code", "client_id": "3MVG9other", "redirect_uri": CALLBACK}
    found = check_authorization(registry, params)
    assert isinstance(found, Response) and found.status == 400
    assert b"error=invalid_client_id" in found.body
    assert not isinstance(
        check_authorization(registry, {**params, "client_id": "3MVG9known"}), Response
    )


def test_openid_userinfo_identity_and_introspect(new_org: Callable[..., SfOrg]) -> None:
    org, client_id, secret = app_org(new_org)
    body = exchange(org, code_for(org, client_id, scope="openid api id"), client_id, secret).json()
    _, claims, _ = body["id_token"].split(".")
    decoded = base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4))
    assert b'"aud":"' + client_id.encode() + b'"' in decoded
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    info = org.sandbox.admin.get("/services/oauth2/userinfo", headers=bearer).json()
    assert info["organization_id"] == org.tenant["orgId"] and info["sub"] == body["id"]
    identity = httpx.get(body["id"], headers=bearer).json()
    assert (
        identity["user_id"] == org.tenant["userId"]
        and identity["username"] == org.tenant["username"]
    )
    assert httpx.get(body["id"], headers={"Authorization": "Bearer nope"}).status_code == 403
    active = org.sandbox.admin.post(
        "/services/oauth2/introspect",
        data={"token": body["access_token"], "client_id": client_id, "client_secret": secret},
    ).json()
    assert active["active"] is True and active["token_type"] == "access_token"
    inactive = org.sandbox.admin.post("/services/oauth2/introspect", data={"token": "nope"}).json()
    assert inactive == {"active": False}


def test_urlencoded_format(new_org: Callable[..., SfOrg]) -> None:
    org, client_id, secret = app_org(new_org)
    response = exchange(org, code_for(org, client_id), client_id, secret, format="urlencoded")
    assert response.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert re.search(r"(^|&)token_type=Bearer(&|$)", response.text)

"""OAuth: consent page, shortcut, code and refresh grants, token metadata, private apps."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hubspot import HubSpot
from hubspot.oauth import (
    AccessTokenInfoResponse,
    ApiException,
    RefreshTokenInfoResponse,
    TokenResponseIF,
)

from sandbox.hubspot.hs_support import HsTenant

CLIENT = {"clientId": "app-client-id", "clientSecret": "app-secret"}
REDIRECT = "http://localhost:9999/callback"


def authorize_query(hs: HsTenant, **extra: str) -> dict[str, str]:
    return {
        "client_id": "app-client-id",
        "redirect_uri": REDIRECT,
        "scope": "oauth crm.objects.contacts.write",
        "optional_scope": "crm.objects.deals.read",
        "state": "xyz",
        **extra,
    }


def code_from(response: httpx.Response) -> str:
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    return query["code"][0]


def exchange(hs: HsTenant, code: str, **overrides: str) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "client_id": "app-client-id",
        "client_secret": "app-secret",
        "redirect_uri": REDIRECT,
        "code": code,
        **overrides,
    }
    return httpx.post(f"{hs.url}/oauth/v1/token", data=form)


def test_consent_page_then_code_then_tokens(new_hs: Any) -> None:
    hs: HsTenant = new_hs(**CLIENT)
    other: HsTenant = new_hs(clientId="someone-else")
    page = httpx.get(f"{hs.url}/oauth/authorize", params=authorize_query(hs))
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert hs.id in page.text and other.id not in page.text  # only tenants of this app
    form = {**authorize_query(hs), "sandbox_tenant": hs.id, "decision": "approve"}
    code = code_from(httpx.post(f"{hs.url}/oauth/authorize", data=form))
    tokens = exchange(hs, code)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 1800
    assert body["hub_id"] == hs.hub_id
    assert body["scopes"] == ["oauth", "crm.objects.contacts.write", "crm.objects.deals.read"]
    assert re.fullmatch(r"C[J-P][A-Za-z0-9_-]{120,}", body["access_token"])
    assert re.fullmatch(r"na1-[0-9a-f]{4}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", body["refresh_token"])
    listed = hs.client(token=body["access_token"]).crm.contacts.basic_api.get_page()
    assert listed.results == []
    # codes are single use
    again = exchange(hs, code)
    assert again.status_code == 400 and again.json()["status"] == "BAD_AUTH_CODE"


def test_shortcut_deny_and_bad_requests(new_hs: Any) -> None:
    hs: HsTenant = new_hs(**CLIENT)
    shortcut = httpx.get(
        f"{hs.url}/oauth/authorize",
        params=authorize_query(hs, sandbox_tenant=hs.id, sandbox_approve="1"),
    )
    granted = HubSpot(host=hs.url).oauth.tokens_api.create(
        grant_type="authorization_code",
        code=code_from(shortcut),
        redirect_uri=REDIRECT,
        client_id="app-client-id",
        client_secret="app-secret",
    )
    assert isinstance(granted, TokenResponseIF) and granted.token_type == "bearer"
    assert granted.refresh_token != hs.info["refreshToken"]  # a new grant, a new refresh token
    denied = httpx.post(
        f"{hs.url}/oauth/authorize", data={**authorize_query(hs), "decision": "deny"}
    )
    assert denied.status_code == 302 and "error=access_denied" in denied.headers["location"]
    assert httpx.get(f"{hs.url}/oauth/authorize", params={"client_id": "x"}).status_code == 400
    wrong_app = httpx.get(
        f"{hs.url}/oauth/authorize",
        params=authorize_query(
            hs, client_id="other-app", sandbox_tenant=hs.id, sandbox_approve="1"
        ),
    )
    assert wrong_app.status_code == 400


@pytest.mark.parametrize(
    ("overrides", "status", "error"),
    [
        ({"client_secret": "wrong"}, "BAD_CLIENT_SECRET", "invalid_client"),
        ({"client_id": "wrong"}, "BAD_CLIENT_ID", "invalid_client"),
        ({"redirect_uri": "http://evil/cb"}, "BAD_REDIRECT_URI", "invalid_grant"),
        ({"grant_type": "password"}, "BAD_GRANT_TYPE", "unsupported_grant_type"),
    ],
)
def test_code_exchange_errors(
    new_hs: Any, overrides: dict[str, str], status: str, error: str
) -> None:
    hs: HsTenant = new_hs(**CLIENT)
    shortcut = httpx.get(
        f"{hs.url}/oauth/authorize",
        params=authorize_query(hs, sandbox_tenant=hs.id, sandbox_approve="1"),
    )
    answer = exchange(hs, code_from(shortcut), **overrides)
    body = answer.json()
    assert answer.status_code == 400 and body["status"] == status and body["error"] == error
    assert body["error_description"] == body["message"] and body["correlationId"]


def test_refresh_through_the_client_keeps_the_refresh_token(new_hs: Any) -> None:
    hs: HsTenant = new_hs(**CLIENT)
    tokens = HubSpot(host=hs.url).oauth.tokens_api
    refreshed = tokens.create(
        grant_type="refresh_token",
        refresh_token=hs.info["refreshToken"],
        client_id="app-client-id",
        client_secret="app-secret",
    )
    assert isinstance(refreshed, TokenResponseIF)
    assert refreshed.refresh_token == hs.info["refreshToken"]
    assert refreshed.access_token != hs.token and refreshed.expires_in == 1800
    assert hs.client(token=refreshed.access_token).crm.contacts.basic_api.get_page().results == []
    assert hs.stats()["oauth.token"] == 1
    with pytest.raises(ApiException) as caught:
        tokens.create(
            grant_type="refresh_token",
            refresh_token="na1-nope",
            client_id="app-client-id",
            client_secret="app-secret",
        )
    assert json.loads(caught.value.body) | {"correlationId": None} == {
        "status": "BAD_REFRESH_TOKEN",
        "message": "refresh token is invalid, expired or revoked",
        "correlationId": None,
        "error": "invalid_grant",
        "error_description": "refresh token is invalid, expired or revoked",
    }


def test_pkce_code_verifier_is_checked(new_hs: Any) -> None:
    hs: HsTenant = new_hs(**CLIENT)
    verifier = "v" * 50
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    query = authorize_query(hs, sandbox_tenant=hs.id, sandbox_approve="1", code_challenge=challenge)
    code = code_from(httpx.get(f"{hs.url}/oauth/authorize", params=query))
    assert exchange(hs, code, code_verifier="wrong").status_code == 400
    assert exchange(hs, code, code_verifier=verifier).status_code == 200


def test_token_metadata_and_revocation_through_the_client(hs: HsTenant) -> None:
    oauth = HubSpot(host=hs.url).oauth
    info = oauth.access_tokens_api.get(hs.token)
    assert isinstance(info, AccessTokenInfoResponse)
    assert (
        info.hub_id == hs.hub_id and info.token_type == "access" and 1790 <= info.expires_in <= 1800
    )
    assert info.app_id == hs.info["appId"] and "oauth" in info.scopes
    refresh = oauth.refresh_tokens_api.get(hs.info["refreshToken"])
    assert isinstance(refresh, RefreshTokenInfoResponse) and refresh.token_type == "refresh"
    assert oauth.refresh_tokens_api.archive(hs.info["refreshToken"]) is None
    with pytest.raises(ApiException) as caught:
        oauth.refresh_tokens_api.get(hs.info["refreshToken"])
    assert caught.value.status == 404
    with pytest.raises(ApiException):
        oauth.tokens_api.create(
            grant_type="refresh_token", refresh_token=hs.info["refreshToken"], client_id="any"
        )


def test_private_app_tokens_do_not_expire(new_hs: Any) -> None:
    hs: HsTenant = new_hs(settings={"tokenStyle": "private_app"})
    assert re.fullmatch(r"pat-na1-[0-9a-f-]{36}", hs.token)
    assert hs.info["expiresIn"] > 10 * 365 * 86400 - 5
    assert hs.client().crm.contacts.basic_api.get_page().results == []

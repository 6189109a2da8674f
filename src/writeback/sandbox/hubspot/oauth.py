"""OAuth 2.0 as HubSpot serves it: the consent step, the v1 token endpoint (also as v3 and
2026-03), and token metadata."""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any
from urllib.parse import urlencode

from writeback.sandbox.faults import inject, strike_after_write, with_token_latency
from writeback.sandbox.http import (
    Request,
    Response,
    Router,
    empty_response,
    html_response,
    json_response,
    redirect,
)
from writeback.sandbox.hubspot import paths
from writeback.sandbox.hubspot.authorize_page import consent_page, error_page
from writeback.sandbox.hubspot.errors import correlation_id, error_body, error_response
from writeback.sandbox.hubspot.gate import fault_response
from writeback.sandbox.hubspot.portal import Portal
from writeback.sandbox.tenants import Registry, Tenant, TokenProblem

DEFAULT_SCOPES = [
    "oauth",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "tickets",
    "crm.objects.custom.read",
    "crm.objects.custom.write",
    "crm.schemas.custom.read",
]


class OAuthError(Exception):
    def __init__(self, status: str, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message

    def response(self) -> Response:
        # Legacy status/message plus the RFC 6749 fields HubSpot added in 2025.
        body = {
            "status": self.status,
            "message": self.message,
            "correlationId": correlation_id(),
            "error": self.error,
            "error_description": self.message,
        }
        return error_response(400, body)


def _with_query(uri: str, params: dict[str, str]) -> str:
    return uri + ("&" if "?" in uri else "?") + urlencode(params)


def _scopes(params: dict[str, str]) -> list[str]:
    words = " ".join(filter(None, (params.get("scope"), params.get("optional_scope"))))
    return [w for w in words.replace("+", " ").split(" ") if w]


def _pkce_ok(challenge: str | None, verifier: str | None) -> bool:
    if challenge is None:
        return True
    if not verifier:
        return False
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge


def _accepts(tenant: Tenant, client_id: str | None) -> bool:
    return tenant.provider == "hubspot" and (
        tenant.client_id is None or tenant.client_id == client_id
    )


def _check_client(tenant: Tenant, client_id: str | None, client_secret: str | None) -> None:
    if not client_id or (tenant.client_id is not None and client_id != tenant.client_id):
        raise OAuthError("BAD_CLIENT_ID", "invalid_client", "missing or unknown client id")
    if tenant.client_secret is not None and client_secret != tenant.client_secret:
        raise OAuthError("BAD_CLIENT_SECRET", "invalid_client", "missing or invalid client secret")


def token_info(
    registry: Registry, tenant: Tenant, scopes: list[str], token: str, kind: str
) -> dict[str, Any]:
    portal: Portal = tenant.state
    info: dict[str, Any] = {
        "token": token,
        "user": "sandbox-user@example.com",
        "hub_domain": f"portal-{portal.hub_id}.sandbox.hubapi.com",
        "scopes": scopes or DEFAULT_SCOPES,
        "hub_id": portal.hub_id,
        "user_id": 7_000_000 + portal.hub_id % 1_000_000,
        "token_type": kind,
    }
    if kind == "access":
        info["app_id"] = portal.app_id
        info["expires_in"] = max(int(registry.access_tokens[token].expires_at - time.time()), 0)
    else:
        info["client_id"] = tenant.client_id or f"sandbox-client-{tenant.id}"
    return info


def register(router: Router, registry: Registry) -> None:
    def approve(params: dict[str, str], tenant_id: str | None) -> Response:
        client_id, redirect_uri = params.get("client_id"), params.get("redirect_uri")
        if not client_id or not redirect_uri:
            return html_response(400, error_page("client_id and redirect_uri are required."))
        tenant = registry.tenants.get(tenant_id or "")
        if tenant is None or not _accepts(tenant, client_id):
            return html_response(400, error_page(f"No HubSpot tenant {tenant_id!r} for this app."))
        code = registry.new_auth_code(
            tenant, client_id, redirect_uri, _scopes(params), params.get("code_challenge")
        )
        back = {"code": code.code}
        if params.get("state"):
            back["state"] = params["state"]
        return redirect(_with_query(redirect_uri, back))

    async def authorize_page(request: Request) -> Response:
        params = {k: v[0] for k, v in request.query.items()}
        if not params.get("client_id") or not params.get("redirect_uri"):
            return html_response(400, error_page("client_id and redirect_uri are required."))
        if params.get("sandbox_tenant") and params.get("sandbox_approve") == "1":
            return approve(params, params["sandbox_tenant"])
        tenants = [t for t in registry.tenants.values() if _accepts(t, params["client_id"])]
        return html_response(200, consent_page(params, tenants))

    async def authorize_decision(request: Request) -> Response:
        params = request.form()
        if params.get("decision") == "deny" and params.get("redirect_uri"):
            back = {"error": "access_denied", "error_description": "The user denied access."}
            if params.get("state"):
                back["state"] = params["state"]
            return redirect(_with_query(params["redirect_uri"], back))
        return approve(params, params.get("sandbox_tenant"))

    def exchange(form: dict[str, str]) -> tuple[Tenant, list[str], str | None]:
        """(tenant, scopes, refresh token to reuse) for a valid grant; OAuthError otherwise."""
        grant = form.get("grant_type")
        if grant == "authorization_code":
            code = registry.auth_codes.get(form.get("code", ""))
            if code is None or code.expires_at < time.time():
                raise OAuthError(
                    "BAD_AUTH_CODE", "invalid_grant", "auth code is invalid, expired or revoked"
                )
            tenant = registry.tenants.get(code.tenant_id)
            if tenant is None:
                raise OAuthError(
                    "BAD_AUTH_CODE", "invalid_grant", "auth code is invalid, expired or revoked"
                )
            if form.get("client_id") != code.client_id:
                raise OAuthError("BAD_CLIENT_ID", "invalid_client", "missing or unknown client id")
            _check_client(tenant, form.get("client_id"), form.get("client_secret"))
            if form.get("redirect_uri") != code.redirect_uri:
                raise OAuthError(
                    "BAD_REDIRECT_URI",
                    "invalid_grant",
                    "redirect_uri does not match the authorization request",
                )
            if not _pkce_ok(code.code_challenge, form.get("code_verifier")):
                raise OAuthError(
                    "BAD_AUTH_CODE", "invalid_grant", "code_verifier does not match code_challenge"
                )
            registry.take_auth_code(code.code)  # single use
            return tenant, code.scopes, None
        if grant == "refresh_token":
            token = form.get("refresh_token", "")
            try:
                tenant, refresh = registry.use_refresh_token(token, "hubspot")
            except TokenProblem:
                raise OAuthError(
                    "BAD_REFRESH_TOKEN",
                    "invalid_grant",
                    "refresh token is invalid, expired or revoked",
                ) from None
            _check_client(tenant, form.get("client_id"), form.get("client_secret"))
            return tenant, refresh.scopes, refresh.token
        raise OAuthError(
            "BAD_GRANT_TYPE",
            "unsupported_grant_type",
            "grant_type must be authorization_code or refresh_token",
        )

    async def token(request: Request) -> Response:
        try:
            tenant, scopes, reuse = exchange(request.form())
        except OAuthError as exc:
            return exc.response()
        tenant.count("oauth.token")
        decision = await inject(tenant.faults) if tenant.faults.config.active else None
        if decision is not None and not decision.after_write:
            return fault_response(tenant.state, decision, private_app=False)
        access = registry.mint_access_token(tenant, scopes=scopes)
        # HubSpot keeps the refresh token across refreshes.
        refresh = reuse or registry.mint_refresh_token(tenant, scopes).token
        body = {
            "token_type": "bearer",
            "refresh_token": refresh,
            "hub_id": tenant.state.hub_id,
            "scopes": scopes or DEFAULT_SCOPES,
            "access_token": access.token,
            "expires_in": round(access.expires_at - access.issued_at),
        }
        await strike_after_write(decision)  # tokens minted, answer lost
        return json_response(200, body)

    def missing(what: str) -> Response:
        return error_response(404, error_body(f"{what} not found", "OBJECT_NOT_FOUND"))

    async def access_token_info(request: Request) -> Response:
        value = request.params["token"]
        try:
            tenant = registry.tenant_for_access_token(value, "hubspot")
        except TokenProblem:
            return missing("access token")
        tenant.count("oauth.accessTokenInfo")
        found = registry.access_tokens[value]
        return json_response(200, token_info(registry, tenant, found.scopes, value, "access"))

    async def refresh_token_info(request: Request) -> Response:
        value = request.params["token"]
        try:
            tenant, found = registry.use_refresh_token(value, "hubspot")
        except TokenProblem:
            return missing("refresh token")
        tenant.count("oauth.refreshTokenInfo")
        return json_response(200, token_info(registry, tenant, found.scopes, value, "refresh"))

    async def refresh_token_delete(request: Request) -> Response:
        value = request.params["token"]
        try:
            tenant, _ = registry.use_refresh_token(value, "hubspot")
        except TokenProblem:
            return missing("refresh token")
        tenant.count("oauth.refreshTokenDelete")
        registry.revoke_refresh_tokens(tenant, value)
        return empty_response(204)

    router.add("GET", "/oauth/authorize", authorize_page)
    router.add("POST", "/oauth/authorize", authorize_decision)
    delayed_token = with_token_latency(registry, "hubspot", token)
    for path in paths.TOKEN:
        router.add("POST", path, delayed_token)
    router.add("GET", "/oauth/v1/access-tokens/{token}", access_token_info)
    router.add("GET", "/oauth/v1/refresh-tokens/{token}", refresh_token_info)
    router.add("DELETE", "/oauth/v1/refresh-tokens/{token}", refresh_token_delete)

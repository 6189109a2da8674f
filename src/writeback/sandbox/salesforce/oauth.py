"""OAuth 2.0 web-server flow (§A1): authorize, token (code and refresh grants), revoke,
introspect.

Sandbox shortcut: `GET /services/oauth2/authorize?...&sandbox_tenant=ID&sandbox_approve=1`
approves at once for that tenant and redirects with the code, for scripts and tests.

Login hosts: the root paths are login.salesforce.com; `/_host/{host}/services/oauth2/...`
is the same endpoint at another login host (test.salesforce.com, a My Domain). The token
endpoint refuses grants of an org that does not log in at the host used (tenant setting
`loginHost`), as Salesforce refuses a sandbox org's refresh token at login.salesforce.com.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson

from writeback.sandbox.faults import with_token_latency
from writeback.sandbox.http import (
    Handler,
    Request,
    Response,
    Router,
    html_response,
    json_response,
    redirect,
)
from writeback.sandbox.salesforce.identity import base_url, identity_url
from writeback.sandbox.salesforce.oauth_page import approval_page, error_page
from writeback.sandbox.salesforce.settings import DEFAULT_LOGIN_HOST, is_login_host, logs_in_at
from writeback.sandbox.tenants import AccessToken, Registry, Tenant, TokenProblem

PROVIDER = "salesforce"
KNOWN_SCOPES = frozenset(
    {
        "api", "refresh_token", "offline_access", "id", "openid", "full", "web", "profile",
        "email", "address", "phone", "chatter_api", "visualforce", "custom_permissions",
        "wave_api", "eclair_api", "pardot_api", "lightning", "content", "cdp_api",
    }
)  # fmt: skip
DEFAULT_SCOPES = ["refresh_token", "api", "id"]  # what the connected app grants by default
REFRESH_SCOPES = frozenset({"refresh_token", "offline_access"})
PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")


class OAuthProblem(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(error)
        self.error = error
        self.description = description


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    return json_response(status, {"error": error, "error_description": description})


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- authorize -------------------------------------------------------------------------


@dataclass
class Authorization:
    params: dict[str, str]
    client_id: str
    redirect_uri: str
    scopes: list[str]
    tenants: list[Tenant]


def _page_error(error: str, description: str) -> Response:
    return html_response(400, error_page(error, description))


def _redirect_with(uri: str, values: dict[str, str]) -> Response:
    return redirect(uri + ("&" if "?" in uri else "?") + urlencode(values))


def _valid_redirect_uri(uri: str) -> bool:
    parts = urlsplit(uri)
    return bool(parts.scheme and parts.netloc) or parts.scheme not in ("", "http", "https")


def _authorize_params(request: Request) -> dict[str, str]:
    params = {k: v[0] for k, v in request.query.items()}
    if request.method == "POST":
        params.update(request.form())
    return params


def check_authorization(registry: Registry, params: dict[str, str]) -> Authorization | Response:
    """The request, or the error to show. Errors about the client or its callback are shown
    as a page (the redirect target is not trusted yet); the others go back to the app."""
    client_id = params.get("client_id", "")
    redirect_uri = params.get("redirect_uri", "")
    if not client_id:
        return _page_error("invalid_client_id", "client identifier invalid")
    if not redirect_uri or not _valid_redirect_uri(redirect_uri):
        return _page_error("redirect_uri_mismatch", "redirect_uri must match configuration")
    # Tenants created with this clientId form its connected app; tenants created without
    # one accept any client, but only when no tenant claims the clientId.
    orgs = [t for t in registry.tenants.values() if t.provider == PROVIDER]
    clients = [t for t in orgs if t.client_id == client_id] or [
        t for t in orgs if t.client_id is None
    ]
    if not clients:
        return _page_error("invalid_client_id", "client identifier invalid")
    tenants = [
        t
        for t in clients
        if not t.settings.get("callbackUrls") or redirect_uri in t.settings["callbackUrls"]
    ]
    if not tenants:
        return _page_error("redirect_uri_mismatch", "redirect_uri must match configuration")
    back = {"state": params["state"]} if params.get("state") else {}
    if params.get("response_type") != "code":
        return _redirect_with(
            redirect_uri,
            {
                "error": "unsupported_response_type",
                "error_description": "response type not supported",
                **back,
            },
        )
    scopes = params.get("scope", "").replace("+", " ").split() or list(DEFAULT_SCOPES)
    if any(scope not in KNOWN_SCOPES for scope in scopes):
        return _redirect_with(
            redirect_uri,
            {
                "error": "invalid_scope",
                "error_description": "the requested scope is not allowed",
                **back,
            },
        )
    challenge = params.get("code_challenge")
    method = params.get("code_challenge_method", "S256")
    if challenge is not None and (method != "S256" or not PKCE_CHALLENGE.match(challenge)):
        return _redirect_with(
            redirect_uri,
            {"error": "invalid_request", "error_description": "invalid code challenge", **back},
        )
    return Authorization(params, client_id, redirect_uri, scopes, tenants)


def _approve(registry: Registry, auth: Authorization, tenant: Tenant) -> Response:
    code = registry.new_auth_code(
        tenant,
        auth.client_id,
        auth.redirect_uri,
        scopes=auth.scopes,
        code_challenge=auth.params.get("code_challenge"),
    )
    tenant.count("oauth.authorize")
    values = {"code": code.code}
    if auth.params.get("state"):
        values["state"] = auth.params["state"]
    return _redirect_with(auth.redirect_uri, values)


def make_authorize(registry: Registry) -> Handler:
    async def authorize(request: Request) -> Response:
        params = _authorize_params(request)
        checked = check_authorization(registry, params)
        if isinstance(checked, Response):
            return checked
        chosen_id = params.get("sandbox_tenant")
        chosen = next((t for t in checked.tenants if t.id == chosen_id), None)
        if chosen_id and chosen is None:
            return _page_error(
                "invalid_request", f"no such sandbox tenant for this app: {chosen_id}"
            )
        if request.method == "POST":
            back = {"state": params["state"]} if params.get("state") else {}
            if params.get("decision") == "deny":
                return _redirect_with(
                    checked.redirect_uri,
                    {
                        "error": "access_denied",
                        "error_description": "end-user denied authorization",
                        **back,
                    },
                )
            if chosen is None:
                return _page_error("invalid_request", "choose an org to connect")
            return _approve(registry, checked, chosen)
        if chosen is not None and params.get("sandbox_approve") == "1":
            return _approve(registry, checked, chosen)
        shown = [chosen] if chosen is not None else checked.tenants
        return html_response(200, approval_page(params, shown, chosen_id, checked.scopes))

    return authorize


# --- token -------------------------------------------------------------------------------


def login_host(request: Request) -> str:
    """The login host the client used: `{host}` of a `/_host/{host}/...` path, else
    login.salesforce.com."""
    return request.params.get("host", DEFAULT_LOGIN_HOST).lower()


def _check_login_host(tenant: Tenant, request: Request) -> None:
    """A grant of an org that does not log in at this host is unknown here: Salesforce answers
    a sandbox org's refresh token at login.salesforce.com (and a production org's at
    test.salesforce.com) with this."""
    org_host = tenant.settings.get("loginHost", DEFAULT_LOGIN_HOST)
    if not logs_in_at(org_host, login_host(request)):
        raise OAuthProblem("invalid_grant", "expired access/refresh token")


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str | None]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode()
        except ValueError:
            decoded = ""
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return form.get("client_id", ""), form.get("client_secret")


def _check_client(
    tenant: Tenant, client_id: str, secret: str | None, *, secret_required: bool
) -> None:
    if not client_id or (tenant.client_id is not None and client_id != tenant.client_id):
        raise OAuthProblem("invalid_client_id", "client identifier invalid")
    if tenant.client_secret is None:
        return
    if secret is None and not secret_required:
        return
    if secret is None or not hmac.compare_digest(secret, tenant.client_secret):
        raise OAuthProblem("invalid_client", "invalid client credentials")


def _id_token(request: Request, tenant: Tenant, client_id: str, issued: float) -> str:
    header = {"kid": "sandbox", "typ": "JWT", "alg": "HS256"}
    claims = {
        "iss": base_url(request),
        "sub": identity_url(request, tenant.state),
        "aud": client_id,
        "iat": int(issued),
        "exp": int(issued) + 300,
    }
    signing_input = f"{_b64url(orjson.dumps(header))}.{_b64url(orjson.dumps(claims))}"
    key = (tenant.client_secret or tenant.id).encode()
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def _token_response(
    request: Request,
    form: dict[str, str],
    tenant: Tenant,
    access: AccessToken,
    refresh_token: str | None,
    client_id: str,
) -> Response:
    issued_at = str(int(access.issued_at * 1000))
    id_url = identity_url(request, tenant.state)
    # signature: Base64 HMAC-SHA256 of id + issued_at, keyed with the consumer secret.
    key = (tenant.client_secret or "").encode()
    signature = base64.b64encode(
        hmac.new(key, (id_url + issued_at).encode(), hashlib.sha256).digest()
    ).decode()
    body: dict[str, Any] = {"access_token": access.token}
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    body["signature"] = signature
    body["scope"] = " ".join(access.scopes)
    if "openid" in access.scopes:
        body["id_token"] = _id_token(request, tenant, client_id, access.issued_at)
    body["instance_url"] = base_url(request)
    body["id"] = id_url
    body["token_type"] = "Bearer"
    body["issued_at"] = issued_at
    if form.get("format") == "urlencoded":
        return Response(
            200, urlencode(body).encode(), content_type=b"application/x-www-form-urlencoded"
        )
    return json_response(200, body)


def _code_grant(registry: Registry, request: Request, form: dict[str, str]) -> Response:
    code = registry.auth_codes.get(form.get("code", ""))
    if code is None:
        raise OAuthProblem("invalid_grant", "invalid authorization code")
    if code.expires_at < time.time():
        registry.take_auth_code(code.code)
        raise OAuthProblem("invalid_grant", "expired authorization code")
    tenant = registry.tenants.get(code.tenant_id)
    if tenant is None:
        raise OAuthProblem("invalid_grant", "invalid authorization code")
    _check_login_host(tenant, request)  # before anything uses up the code
    client_id, secret = _client_credentials(request, form)
    verifier = form.get("code_verifier")
    # A PKCE client may leave out the secret; the verifier proves it instead.
    _check_client(tenant, client_id, secret, secret_required=code.code_challenge is None)
    if client_id != code.client_id:
        raise OAuthProblem("invalid_client_id", "client identifier invalid")
    if form.get("redirect_uri") != code.redirect_uri:
        raise OAuthProblem("redirect_uri_mismatch", "redirect_uri must match configuration")
    registry.take_auth_code(code.code)  # single use from here on, whatever happens next
    if code.code_challenge is not None or verifier is not None:
        expected = _b64url(hashlib.sha256((verifier or "").encode()).digest())
        if verifier is None or code.code_challenge != expected:
            raise OAuthProblem("invalid_grant", "invalid code verifier")
    tenant.count("oauth.token")
    access = registry.mint_access_token(tenant, scopes=code.scopes)
    refresh = None
    if REFRESH_SCOPES.intersection(code.scopes):
        refresh = registry.mint_refresh_token(tenant, scopes=code.scopes).token
    return _token_response(request, form, tenant, access, refresh, client_id)


def _refresh_grant(registry: Registry, request: Request, form: dict[str, str]) -> Response:
    try:
        tenant, refresh = registry.use_refresh_token(form.get("refresh_token", ""), PROVIDER)
    except TokenProblem:
        raise OAuthProblem("invalid_grant", "expired access/refresh token") from None
    _check_login_host(tenant, request)
    client_id, secret = _client_credentials(request, form)
    _check_client(tenant, client_id, secret, secret_required=False)
    tenant.count("oauth.token")
    # A refresh token minted by the admin API has no scopes: the app's defaults apply.
    access = registry.mint_access_token(tenant, scopes=refresh.scopes or list(DEFAULT_SCOPES))
    rotated = None
    if tenant.settings.get("rotateRefreshTokens"):
        registry.revoke_refresh_tokens(tenant, refresh.token)
        rotated = registry.mint_refresh_token(tenant, scopes=refresh.scopes).token
    return _token_response(request, form, tenant, access, rotated, client_id)


GRANTS: dict[str, Callable[[Registry, Request, dict[str, str]], Response]] = {
    "authorization_code": _code_grant,
    "refresh_token": _refresh_grant,
}


def _form(request: Request) -> dict[str, str]:
    form = {k: v[0] for k, v in request.query.items()}
    form.update(request.form())
    return form


def make_token(registry: Registry) -> Handler:
    async def token(request: Request) -> Response:
        form = _form(request)
        grant = GRANTS.get(form.get("grant_type", ""))
        if grant is None:
            return oauth_error("unsupported_grant_type", "grant type not supported")
        try:
            return grant(registry, request, form)
        except OAuthProblem as exc:
            return oauth_error(exc.error, exc.description)

    return token


# --- revoke and introspect ---------------------------------------------------------------


def make_revoke(registry: Registry) -> Handler:
    async def revoke(request: Request) -> Response:
        token = _form(request).get("token", "")
        access = registry.access_tokens.get(token)
        refresh = registry.refresh_tokens.get(token)
        found = access or refresh
        tenant = registry.tenants.get(found.tenant_id) if found else None
        if tenant is None or tenant.provider != PROVIDER:
            return oauth_error("unsupported_token_type", "this token type is not supported")
        tenant.count("oauth.revoke")
        if access is not None:
            registry.expire_access_tokens(tenant, token)
        else:
            registry.revoke_refresh_tokens(tenant, token)
        return Response(200, b"", content_type=None)

    return revoke


def make_introspect(registry: Registry) -> Handler:
    async def introspect(request: Request) -> Response:
        form = _form(request)
        token = form.get("token", "")
        client_id, _ = _client_credentials(request, form)
        now = time.time()
        access = registry.access_tokens.get(token)
        if access is not None:
            tenant = registry.tenants.get(access.tenant_id)
            active = tenant is not None and tenant.provider == PROVIDER and access.expires_at > now
            if not active or tenant is None:
                return json_response(200, {"active": False})
            return json_response(
                200,
                {
                    "active": True,
                    "scope": " ".join(access.scopes),
                    "client_id": client_id,
                    "username": tenant.state.username,
                    "sub": identity_url(request, tenant.state),
                    "token_type": "access_token",
                    "exp": int(access.expires_at),
                    "iat": int(access.issued_at),
                    "nbf": int(access.issued_at),
                },
            )
        try:
            tenant, refresh = registry.use_refresh_token(token, PROVIDER)
        except TokenProblem:
            return json_response(200, {"active": False})
        return json_response(
            200,
            {
                "active": True,
                "scope": " ".join(refresh.scopes),
                "client_id": client_id,
                "username": tenant.state.username,
                "sub": identity_url(request, tenant.state),
                "token_type": "refresh_token",
                "iat": int(refresh.issued_at),
                "nbf": int(refresh.issued_at),
            },
        )

    return introspect


# --- other login hosts -------------------------------------------------------------------

HOST_PREFIX = "/_host/{host}"


def _at_login_host(handler: Handler) -> Handler:
    async def at_host(request: Request) -> Response:
        if not is_login_host(login_host(request)):
            return json_response(
                404,
                {
                    "error": "not_found",
                    "error_description": f"{request.params.get('host')} is not a Salesforce"
                    " login host (login.salesforce.com, test.salesforce.com, or a My Domain"
                    " host <name>.my.salesforce.com)",
                },
            )
        return await handler(request)

    return at_host


def add_login_host_routes(router: Router, registry: Registry) -> None:
    """The OAuth endpoints as served by another login host, at `/_host/{host}/services/oauth2/`:
    `https://test.salesforce.com/services/oauth2/token` is
    `<sandbox>/_host/test.salesforce.com/services/oauth2/token`."""
    base = HOST_PREFIX + "/services/oauth2"
    token = with_token_latency(registry, PROVIDER, make_token(registry))
    routes: list[tuple[str, str, Handler]] = [
        ("GET", "/authorize", make_authorize(registry)),
        ("POST", "/authorize", make_authorize(registry)),
        ("POST", "/token", token),
        ("POST", "/revoke", make_revoke(registry)),
        ("GET", "/revoke", make_revoke(registry)),
        ("POST", "/introspect", make_introspect(registry)),
    ]
    for method, path, handler in routes:
        router.add(method, base + path, _at_login_host(handler))

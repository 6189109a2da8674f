"""Who a token belongs to: the identity URL (`id` of the token response) and
`/services/oauth2/userinfo` (§A1 "Other OAuth endpoints")."""

from __future__ import annotations

from typing import Any

from writeback.sandbox.http import Handler, Request, Response, json_response
from writeback.sandbox.salesforce.org import Org
from writeback.sandbox.tenants import Registry, Tenant, TokenProblem


def base_url(request: Request) -> str:
    """The sandbox's own origin, as the client reached it: the org's instance_url."""
    return "http://" + request.headers.get("host", "127.0.0.1")


def identity_url(request: Request, org: Org) -> str:
    return f"{base_url(request)}/id/{org.org_id}/{org.user_id}"


def _urls(request: Request, org: Org) -> dict[str, str]:
    base = base_url(request)
    data = f"{base}/services/data/v{{version}}"
    return {
        "enterprise": f"{base}/services/Soap/c/{{version}}/{org.org_id[:15]}",
        "partner": f"{base}/services/Soap/u/{{version}}/{org.org_id[:15]}",
        "rest": f"{data}/",
        "sobjects": f"{data}/sobjects/",
        "search": f"{data}/search/",
        "query": f"{data}/query/",
        "recent": f"{data}/recent/",
        "limits": f"{data}/limits/",
        "profile": f"{base}/{org.user_id}",
        "custom_domain": base,
    }


def identity(request: Request, tenant: Tenant) -> dict[str, Any]:
    org: Org = tenant.state
    return {
        "id": identity_url(request, org),
        "asserted_user": True,
        "user_id": org.user_id,
        "organization_id": org.org_id,
        "username": org.username,
        "nick_name": "sandbox.admin",
        "display_name": "Sandbox Admin",
        "email": org.username,
        "email_verified": True,
        "first_name": "Sandbox",
        "last_name": "Admin",
        "timezone": "GMT",
        "active": True,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "urls": _urls(request, org),
        "is_app_installed": True,
    }


def userinfo(request: Request, tenant: Tenant) -> dict[str, Any]:
    """The OpenID Connect flavour of the same facts."""
    org: Org = tenant.state
    return {
        "sub": identity_url(request, org),
        "user_id": org.user_id,
        "organization_id": org.org_id,
        "preferred_username": org.username,
        "nickname": "sandbox.admin",
        "name": "Sandbox Admin",
        "email": org.username,
        "email_verified": True,
        "given_name": "Sandbox",
        "family_name": "Admin",
        "zoneinfo": "GMT",
        "urls": _urls(request, org),
        "active": True,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
    }


def _tenant(registry: Registry, request: Request) -> Tenant | None:
    try:
        return registry.tenant_for_access_token(request.bearer_token(), "salesforce")
    except TokenProblem:
        return None


def bad_token() -> Response:
    # The identity service answers a bad token with a bare 403, not the REST error array.
    return Response(403, b"Bad_OAuth_Token", content_type=b"text/plain;charset=UTF-8")


def make_handlers(registry: Registry) -> tuple[Handler, Handler]:
    async def userinfo_endpoint(request: Request) -> Response:
        tenant = _tenant(registry, request)
        if tenant is None:
            return bad_token()
        tenant.count("oauth.userinfo")
        return json_response(200, userinfo(request, tenant))

    async def identity_endpoint(request: Request) -> Response:
        tenant = _tenant(registry, request)
        if tenant is None:
            return bad_token()
        org: Org = tenant.state
        if (request.params["org"][:15], request.params["user"][:15]) != (
            org.org_id[:15],
            org.user_id[:15],
        ):
            return bad_token()
        tenant.count("oauth.identity")
        return json_response(200, identity(request, tenant))

    return userinfo_endpoint, identity_endpoint

"""The sandbox's own admin API under /_sandbox/ (see docs/sandbox.md)."""

from __future__ import annotations

from typing import Any

from writeback.sandbox.faults import FaultConfig, FaultConfigError
from writeback.sandbox.http import (
    HttpError,
    InvalidJson,
    Request,
    Response,
    Router,
    empty_response,
    json_response,
)
from writeback.sandbox.tenants import Registry, SettingsError, Tenant


def error(status: int, message: str) -> Response:
    return json_response(status, {"error": message})


def base_url(request: Request) -> str:
    return "http://" + request.headers.get("host", "127.0.0.1")


def body_of(request: Request) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        body = request.json()
    except InvalidJson as exc:
        raise HttpError(error(400, f"body is not JSON: {exc}")) from exc
    if not isinstance(body, dict):
        raise HttpError(error(400, "body must be a JSON object"))
    return body


def tenant_json(registry: Registry, tenant: Tenant, request: Request) -> dict[str, Any]:
    kind = registry.kinds[tenant.provider]
    return {
        "tenantId": tenant.id,
        "provider": tenant.provider,
        **kind.tenant_info(tenant, base_url(request)),
        "settings": tenant.settings,
        "faults": tenant.faults.config.to_json(),
        "objects": tenant.state.object_counts(),
        "requests": sum(tenant.requests.values()),
    }


def build_admin_router(registry: Registry) -> Router:
    router = Router()

    def find(request: Request) -> Tenant:
        tenant = registry.tenants.get(request.params["tenant"])
        if tenant is None:
            raise HttpError(error(404, f"no tenant {request.params['tenant']!r}"))
        return tenant

    def issue_tokens(tenant: Tenant, body: dict[str, Any]) -> dict[str, Any]:
        expires_in = body.get("expiresIn")
        access = registry.mint_access_token(tenant, expires_in=expires_in)
        out: dict[str, Any] = {
            "accessToken": access.token,
            "expiresIn": round(access.expires_at - access.issued_at),
        }
        if body.get("refreshToken", True):
            out["refreshToken"] = registry.mint_refresh_token(tenant).token
        return out

    @router.route("GET", "/_sandbox/health")
    async def health(request: Request) -> Response:
        return json_response(200, {"status": "ok", "tenants": len(registry.tenants)})

    @router.route("POST", "/_sandbox/tenants")
    async def create_tenant(request: Request) -> Response:
        body = body_of(request)
        provider = body.get("provider")
        if provider not in registry.kinds:
            return error(400, f"provider must be one of {sorted(registry.kinds)}, got {provider!r}")
        try:
            faults = FaultConfig.from_json(body.get("faults") or {})
            tenant = registry.create_tenant(
                provider,
                settings=body.get("settings"),
                faults=faults,
                client_id=body.get("clientId"),
                client_secret=body.get("clientSecret"),
            )
        except (SettingsError, FaultConfigError) as exc:
            return error(400, str(exc))
        return json_response(
            201, {**tenant_json(registry, tenant, request), **issue_tokens(tenant, body)}
        )

    @router.route("GET", "/_sandbox/tenants")
    async def list_tenants(request: Request) -> Response:
        return json_response(
            200, [tenant_json(registry, t, request) for t in registry.tenants.values()]
        )

    @router.route("POST", "/_sandbox/reset")
    async def reset_all(request: Request) -> Response:
        registry.reset()
        return empty_response()

    @router.route("GET", "/_sandbox/tenants/{tenant}")
    async def get_tenant(request: Request) -> Response:
        tenant = find(request)
        return json_response(200, tenant_json(registry, tenant, request))

    @router.route("DELETE", "/_sandbox/tenants/{tenant}")
    async def delete_tenant(request: Request) -> Response:
        tenant = find(request)
        registry.delete_tenant(tenant.id)
        return empty_response()

    @router.route("POST", "/_sandbox/tenants/{tenant}/reset")
    async def reset_tenant(request: Request) -> Response:
        tenant = find(request)
        tenant.state.reset()
        tenant.requests.clear()
        registry.touch()
        return empty_response()

    @router.route("POST", "/_sandbox/tenants/{tenant}/tokens")
    async def mint(request: Request) -> Response:
        tenant, body = find(request), body_of(request)
        return json_response(201, issue_tokens(tenant, body))

    @router.route("POST", "/_sandbox/tenants/{tenant}/tokens/expire")
    async def expire(request: Request) -> Response:
        tenant, body = find(request), body_of(request)
        count = registry.expire_access_tokens(tenant, body.get("accessToken"))
        return json_response(200, {"expired": count})

    @router.route("POST", "/_sandbox/tenants/{tenant}/tokens/revoke")
    async def revoke(request: Request) -> Response:
        tenant, body = find(request), body_of(request)
        count = registry.revoke_refresh_tokens(tenant, body.get("refreshToken"))
        return json_response(200, {"revoked": count})

    @router.route("GET", "/_sandbox/tenants/{tenant}/records/{object}")
    async def list_records(request: Request) -> Response:
        tenant = find(request)
        records = tenant.state.list_records(request.params["object"])
        if records is None:
            return error(404, f"tenant has no object {request.params['object']!r}")
        return json_response(200, {"records": records, "total": len(records)})

    @router.route("GET", "/_sandbox/tenants/{tenant}/records/{object}/{id}")
    async def get_record(request: Request) -> Response:
        tenant = find(request)
        record = tenant.state.get_record(request.params["object"], request.params["id"])
        if record is None:
            return error(404, "no such record")
        return json_response(200, record)

    @router.route("GET", "/_sandbox/tenants/{tenant}/faults")
    async def get_faults(request: Request) -> Response:
        tenant = find(request)
        return json_response(200, tenant.faults.config.to_json())

    async def set_faults(request: Request, merge: bool) -> Response:
        tenant, body = find(request), body_of(request)
        try:
            config = FaultConfig.from_json(body, tenant.faults.config if merge else None)
        except FaultConfigError as exc:
            return error(400, str(exc))
        tenant.faults.configure(config)
        registry.touch()
        return json_response(200, config.to_json())

    async def put_faults(request: Request) -> Response:
        return await set_faults(request, merge=False)

    async def patch_faults(request: Request) -> Response:
        return await set_faults(request, merge=True)

    router.add("PUT", "/_sandbox/tenants/{tenant}/faults", put_faults)
    router.add("PATCH", "/_sandbox/tenants/{tenant}/faults", patch_faults)

    @router.route("GET", "/_sandbox/tenants/{tenant}/settings")
    async def get_settings(request: Request) -> Response:
        tenant = find(request)
        return json_response(200, tenant.settings)

    @router.route("PATCH", "/_sandbox/tenants/{tenant}/settings")
    async def patch_settings(request: Request) -> Response:
        tenant, body = find(request), body_of(request)
        try:
            kind = registry.kinds[tenant.provider]
            tenant.settings = registry.merged_settings(kind, body, tenant.settings)
        except SettingsError as exc:
            return error(400, str(exc))
        registry.touch()
        return json_response(200, tenant.settings)

    @router.route("GET", "/_sandbox/tenants/{tenant}/stats")
    async def stats(request: Request) -> Response:
        tenant = find(request)
        return json_response(
            200, {"requests": sum(tenant.requests.values()), "byEndpoint": dict(tenant.requests)}
        )

    @router.route("DELETE", "/_sandbox/tenants/{tenant}/stats")
    async def clear_stats(request: Request) -> Response:
        tenant = find(request)
        tenant.requests.clear()
        return empty_response()

    return router

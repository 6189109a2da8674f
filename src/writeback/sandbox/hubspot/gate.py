"""What every CRM call goes through before its handler: bearer token, request counting,
fault injection and rate limits; and the rate-limit headers on the way out."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from writeback.sandbox.faults import FaultDecision, inject, strike_after_write
from writeback.sandbox.http import Handler, HttpError, InvalidJson, Request, Response
from writeback.sandbox.hubspot.errors import (
    AUTH_NOT_FOUND,
    api_error,
    correlation_id,
    error_body,
    error_response,
    invalid_json,
)
from writeback.sandbox.hubspot.portal import Portal
from writeback.sandbox.hubspot.ratelimit import WINDOW_MS, Verdict
from writeback.sandbox.hubspot.settings import PortalSettings
from writeback.sandbox.hubspot.tokens import is_private_app
from writeback.sandbox.hubspot.validation import iso_millis
from writeback.sandbox.tenants import Registry, SettingsError, Tenant, TokenProblem

Endpoint = Callable[[Request, Portal], Awaitable[Response]]


def _expired(registry: Registry, token: str) -> HttpError:
    access = registry.access_tokens[token]
    tenant = registry.tenants[access.tenant_id]
    died = access.expires_at
    early = tenant.faults.config.tokenLifetimeSeconds
    if early is not None:
        died = min(died, access.issued_at + early)
    ago = max(int(time.time() - died), 0)
    return api_error(
        401,
        f"The OAuth token used to make this call expired {ago} second(s) ago.",
        "EXPIRED_AUTHENTICATION",
        context={"expire time": [iso_millis(datetime.fromtimestamp(died, UTC))]},
    )


def authenticate(registry: Registry, request: Request) -> Tenant:
    token = request.bearer_token()
    try:
        return registry.tenant_for_access_token(token, "hubspot")
    except TokenProblem as problem:
        if problem.reason == "expired" and token is not None:
            raise _expired(registry, token) from None
        raise api_error(401, AUTH_NOT_FOUND, "INVALID_AUTHENTICATION") from None


def _rate_headers(verdict: Verdict, limit: int, daily: int | None) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-hubspot-ratelimit-interval-milliseconds", str(WINDOW_MS).encode()),
        (b"x-hubspot-ratelimit-max", str(limit).encode()),
        (b"x-hubspot-ratelimit-remaining", str(verdict.remaining).encode()),
    ]
    if daily is not None:  # private apps only; OAuth apps get no daily headers
        headers.append((b"x-hubspot-ratelimit-daily", str(daily).encode()))
        headers.append(
            (b"x-hubspot-ratelimit-daily-remaining", str(verdict.daily_remaining).encode())
        )
    return headers


def rate_limited(
    portal: Portal, policy: str, retry_after: int | None, private_app: bool
) -> Response:
    what = "ten_secondly_rolling" if policy == "TEN_SECONDLY_ROLLING" else "daily"
    kind = "private_app" if private_app else "oauth"
    window = "ten-secondly" if policy == "TEN_SECONDLY_ROLLING" else "daily"
    body = error_body(
        f"You have reached your {what} limit.",
        None,
        extra={
            "errorType": "RATE_LIMIT",
            "policyName": policy,
            "requestId": correlation_id(),
            "groupName": f"publicapi:{kind}-api-calls-{window}:{portal.app_id}:{portal.hub_id}",
        },
    )
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return error_response(429, body, headers)


def fault_response(portal: Portal, decision: FaultDecision, private_app: bool) -> Response:
    retry_after = str(decision.retry_after_seconds)
    if decision.kind == "rate_limited":
        return rate_limited(
            portal, "TEN_SECONDLY_ROLLING", decision.retry_after_seconds, private_app
        )
    if decision.kind == "unavailable":
        body = error_body("Service Unavailable", "SERVICE_UNAVAILABLE")
        return error_response(503, body, {"Retry-After": retry_after})
    return error_response(500, error_body("internal error", "INTERNAL_ERROR"))


class Gate:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def __call__(self, name: str) -> Callable[[Endpoint], Handler]:
        """Decorator: `@gate("objects.create")` on `async def f(request, portal)`."""

        def wrap(endpoint: Endpoint) -> Handler:
            async def handler(request: Request) -> Response:
                return await self._run(name, endpoint, request)

            return handler

        return wrap

    async def _run(self, name: str, endpoint: Endpoint, request: Request) -> Response:
        tenant = authenticate(self.registry, request)
        tenant.count(name)
        portal: Portal = tenant.state
        try:
            settings = portal.settings
        except SettingsError as exc:
            body = error_body(f"sandbox tenant settings are invalid: {exc}", "INTERNAL_ERROR")
            return error_response(500, body)
        private_app = is_private_app(request.bearer_token() or "")
        decision: FaultDecision | None = None
        if tenant.faults.config.active:
            decision = await inject(tenant.faults)
            if decision is not None and not decision.after_write:
                return fault_response(portal, decision, private_app)
        response = await self._limited(endpoint, request, portal, settings, private_app)
        await strike_after_write(decision)  # the request is done; its answer may be lost
        return response

    async def _limited(
        self,
        endpoint: Endpoint,
        request: Request,
        portal: Portal,
        settings: PortalSettings,
        private_app: bool,
    ) -> Response:
        """The endpoint's answer, or HubSpot's own 429 when the portal's limits say so."""
        if not settings.rate_limits:
            return await self._call(endpoint, request, portal)
        limit, daily = settings.ten_secondly_limit, settings.daily_limit
        verdict = portal.limiter.hit(time.time(), limit, daily)
        if verdict.policy is None:
            response = await self._call(endpoint, request, portal)
        else:
            retry = verdict.retry_after if verdict.policy == "TEN_SECONDLY_ROLLING" else None
            response = rate_limited(portal, verdict.policy, retry, private_app)
        response.headers.extend(_rate_headers(verdict, limit, daily if private_app else None))
        return response

    @staticmethod
    async def _call(endpoint: Endpoint, request: Request, portal: Portal) -> Response:
        try:
            return await endpoint(request, portal)
        except HttpError as exc:
            return exc.response
        except InvalidJson as exc:
            return invalid_json(str(exc)).response

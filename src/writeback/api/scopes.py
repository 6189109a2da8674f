"""Which scope each API route needs, decided in one place by method and path template.

GET routes need `read`; `includeCreds=true` adds `credentials`; the Write API and `:retry` need
`write`; every other change needs `manage`. Routes named by a custom verb (`…:retry`) say what
they do only by their name, so each is listed in `ACTIONS`; public routes are listed in
`PUBLIC_ROUTES`. A route the policy cannot decide is reported (`RouteTable.undecided`, checked by
the tests) and needs `manage` until it is listed. The auth gate, the dependency fallback and the
write fast path all apply this module, so no route can skip it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.routing import compile_path

from writeback.api.auth import Caller
from writeback.api.problems import ApiProblem
from writeback.control.key_scopes import CREDENTIALS, MANAGE, READ, WRITE

log = logging.getLogger("writeback.api")

WRITE_ROUTE = "/v1/projects/{projectIdOrName}/integrations/{integrationId}/objects/{objectName}"
_PROJECT = "/v1/projects/{projectIdOrName}"

# No key at all, as in Ampersand: the provider catalog.
PUBLIC_ROUTES = frozenset({("GET", "/v1/providers"), ("GET", "/v1/providers/{provider}")})

ACTIONS: dict[tuple[str, str], str] = {
    ("POST", WRITE_ROUTE): WRITE,
    ("POST", _PROJECT + "/operations/{operationId}:retry"): WRITE,
    ("POST", _PROJECT + "/connections:generate"): MANAGE,
    ("PUT", _PROJECT + "/integrations:batch"): MANAGE,
    ("POST", _PROJECT + "/webhooks/{webhookId}:test"): MANAGE,
    ("POST", _PROJECT + "/webhooks/{webhookId}:rotate-secret"): MANAGE,
}
_READING = frozenset({"GET", "HEAD"})
_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FALSE = frozenset({"", "0", "false", "f", "no", "n", "off"})


class NoScopeDecision(LookupError):
    pass


def route_scope(method: str, template: str) -> str | None:
    """The scope `method template` needs; None for a public route."""
    if (method, template) in PUBLIC_ROUTES:
        return None
    if (method, template) in ACTIONS:
        return ACTIONS[(method, template)]
    if ":" in template.rsplit("/", 1)[-1]:
        raise NoScopeDecision(f"{method} {template}: a custom verb; list it in ACTIONS")
    if method in _READING:
        return READ
    if method in _CHANGING:
        return MANAGE
    raise NoScopeDecision(f"{method} {template}: no rule for this method")


def asks_for_credentials(query_string: bytes) -> bool:
    """`includeCreds` with any value but a clear false (fail closed on odd spellings)."""
    if b"includeCreds" not in query_string:
        return False
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return any(
        name == "includeCreds" and value.strip().lower() not in _FALSE for name, value in pairs
    )


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    scope: str | None  # None: public

    def needs(self, query_string: bytes) -> tuple[str, ...]:
        if self.scope is None:
            return ()
        if self.scope == READ and asks_for_credentials(query_string):
            return (READ, CREDENTIALS)
        return (self.scope,)


def route(method: str, template: str) -> Route:
    """One route with its decision (the write fast path uses this for its single route)."""
    return Route(method, template, compile_path(template)[0], route_scope(method, template))


class RouteTable:
    """The API's routes with their scope, matched against a request's method and path in the
    same order the app matches them (the first route with this method whose path matches)."""

    def __init__(self, routes: Iterable[tuple[str, str]]) -> None:
        self.routes: list[Route] = []
        self.undecided: list[str] = []
        for method, template in routes:
            try:
                scope = route_scope(method, template)
            except NoScopeDecision as exc:
                self.undecided.append(str(exc))
                log.warning("no scope decision for %s; it needs `manage` meanwhile", exc)
                scope = MANAGE
            self.routes.append(Route(method, template, compile_path(template)[0], scope))

    def find(self, method: str, path: str) -> Route | None:
        method = "GET" if method == "HEAD" else method
        for route in self.routes:
            if route.method == method and route.pattern.match(path):
                return route
        return None


def authorize(caller: Caller, route: Route, query_string: bytes) -> None:
    """403 unless the caller holds every scope the route needs."""
    missing = [scope for scope in route.needs(query_string) if scope not in caller.scopes]
    if missing:
        raise missing_scope(caller, missing, f"{route.method} {route.template}")


def missing_scope(caller: Caller, missing: list[str], action: str) -> ApiProblem:
    names = " and ".join(f"`{scope}`" for scope in missing)
    plural = "scopes" if len(missing) > 1 else "scope"
    listed = ", ".join(f'"{scope}"' for scope in missing)
    return ApiProblem(
        403,
        f"{caller.describe()} lacks the {names} {plural} needed for {action}.",
        remedy=f"Use a key that has the {names} {plural}, or create one with"
        f' POST /v1/projects/{{project}}/api-keys {{"label": "…", "scopes": [{listed}]}}'
        " sent with a key that holds them (a key can grant only scopes it has; the key"
        " `writeback init` printed has them all).",
        code="missing_scope",
        context={
            "missingScopes": missing,
            "keyScopes": sorted(caller.scopes),
            "keyPrefix": caller.prefix,
        },
    )

"""What every authenticated REST call goes through, in the real order: session check,
injected faults, API version, the daily request allocation, then the endpoint. Every
answer to a known org carries `Sforce-Limit-Info`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from writeback.sandbox.faults import FaultDecision, inject, strike_after_write
from writeback.sandbox.http import Handler, Request, Response, Router
from writeback.sandbox.salesforce.errors import (
    Problem,
    SfError,
    invalid_session,
    invalid_type,
    method_not_allowed,
    not_found,
    request_limit,
    server_unavailable,
    unknown_exception,
)
from writeback.sandbox.salesforce.org import Org
from writeback.sandbox.salesforce.schema import SCHEMA, SObject
from writeback.sandbox.tenants import Registry, Tenant, TokenProblem

METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE", "HEAD")
REST_SCOPES = frozenset({"api", "full"})
PROVIDER = "salesforce"


@dataclass(slots=True)
class Call:
    request: Request
    tenant: Tenant
    org: Org
    version: str  # "62.0"

    @property
    def params(self) -> dict[str, str]:
        return self.request.params

    def arg(self, name: str) -> str | None:
        return self.request.arg(name)

    def sobject(self, name: str) -> SObject:
        """The object named in the URL, or the unknown-object error the tenant is set to."""
        found = SCHEMA.get(name)
        if found is not None:
            return found
        if self.tenant.settings.get("unknownSObjectError") == "INVALID_TYPE":
            raise SfError(400, invalid_type(name))
        raise not_found()

    @property
    def version_number(self) -> float:
        return float(self.version)

    def allow_duplicate_save(self) -> bool:
        """`Sforce-Duplicate-Rule-Header: allowSave=true; includeRecordDetails=false; ...`"""
        header = self.request.headers.get("sforce-duplicate-rule-header")
        if not header:
            return False
        for part in header.replace(",", ";").split(";"):
            key, _, value = part.partition("=")
            if key.strip().lower() == "allowsave":
                return value.strip().lower() == "true"
        return False


Op = Callable[[Call], Response]


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str  # the tenant.count() key benchmarks read
    op: Op


def authenticate(registry: Registry, request: Request) -> Tenant:
    header = request.headers.get("authorization")
    token = request.bearer_token()
    if header and token is None:
        raise SfError(401, Problem("INVALID_AUTH_HEADER", "INVALID_HEADER_TYPE"))
    try:
        tenant = registry.tenant_for_access_token(token, PROVIDER)
    except TokenProblem:
        raise invalid_session() from None
    scopes = registry.access_tokens[token].scopes if token else []
    if scopes and not REST_SCOPES.intersection(scopes):
        raise invalid_session("This session is not valid for use with the REST API")
    return tenant


def fault_error(tenant: Tenant, decision: FaultDecision) -> SfError:
    """Salesforce has no 429: a refused request is 403 REQUEST_LIMIT_EXCEEDED (§A10)."""
    if decision.kind == "rate_limited":
        error = request_limit("ConcurrentPerOrgLongTxn Limit exceeded.")
    elif decision.kind == "unavailable":
        error = server_unavailable()
    else:
        error = unknown_exception()
    if tenant.settings.get("faultRetryAfter") and decision.kind != "server_error":
        error.headers["Retry-After"] = str(decision.retry_after_seconds)
    return error


def _version(tenant: Tenant, segment: str | None) -> str:
    if segment is None:
        return tenant.settings["apiVersions"][-1]
    if segment[:1] == "v" and segment[1:] in tenant.settings["apiVersions"]:
        return segment[1:]
    raise not_found()


class Rest:
    """Registers endpoints; each URL template answers every method, so a wrong method gets
    Salesforce's 405 rather than the sandbox's generic one."""

    def __init__(self, registry: Registry, router: Router) -> None:
        self.registry = registry
        self.router = router

    def resource(self, template: str, **methods: Endpoint) -> None:
        handler = self._handler(methods)
        for method in METHODS:
            self.router.add(method, template, handler)

    def _handler(self, methods: dict[str, Endpoint]) -> Handler:
        registry = self.registry
        allowed = sorted(methods)

        async def handle(request: Request) -> Response:
            tenant: Tenant | None = None
            decision: FaultDecision | None = None
            try:
                tenant = authenticate(registry, request)
                method = request.method
                if method == "POST" and request.query_string:
                    method = (request.arg("_HttpMethod") or method).upper()
                endpoint = methods.get(method)
                if endpoint is None:
                    raise method_not_allowed(method, allowed)
                tenant.count(endpoint.name)
                decision = await inject(tenant.faults)
                if decision is not None and not decision.after_write:
                    raise fault_error(tenant, decision)
                version = _version(tenant, request.params.get("version"))
                org: Org = tenant.state
                if org.usage.used() >= tenant.settings["dailyApiLimit"]:
                    raise request_limit("TotalRequests Limit exceeded.")
                org.usage.add()
                response = endpoint.op(Call(request, tenant, org, version))
            except SfError as exc:
                response = exc.response()
            if tenant is not None:
                org = tenant.state
                limit = tenant.settings["dailyApiLimit"]
                response.header("Sforce-Limit-Info", f"api-usage={org.usage.used()}/{limit}")
            await strike_after_write(decision)  # the request is done; its answer may be lost
            return response

        return handle

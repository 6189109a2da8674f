"""Fault injection per tenant: latency, error answers, dropped connections, timeouts.

Faults are drawn from a seeded RNG, so a run with the same seed and the same request order
sees the same faults. `failNext` queues exact faults for the next requests, for tests that
need one 429 and nothing else.

Most faults strike before the request is processed. `drop_after_write` and
`timeout_after_write` strike after it: the write happens, then the answer is lost, so the
client cannot know whether its write happened.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

from writeback.sandbox.http import DropConnection, Handler, Request, Response

if TYPE_CHECKING:
    from writeback.sandbox.tenants import Registry, Tenant

FaultKind = Literal[
    "rate_limited",
    "server_error",
    "unavailable",
    "drop",
    "timeout",
    "drop_after_write",
    "timeout_after_write",
]
AFTER_WRITE_KINDS: tuple[str, ...] = ("drop_after_write", "timeout_after_write")
FAULT_KINDS: tuple[str, ...] = (
    "rate_limited",
    "server_error",
    "unavailable",
    "drop",
    "timeout",
    *AFTER_WRITE_KINDS,
)


class FaultConfigError(ValueError):
    pass


@dataclass
class FaultConfig:
    seed: int | None = None
    latencyMs: float = 0.0
    latencyJitterMs: float = 0.0
    rateLimitRate: float = 0.0  # share of requests answered 429
    retryAfterSeconds: int = 1
    serverErrorRate: float = 0.0  # 500
    unavailableRate: float = 0.0  # 503
    dropRate: float = 0.0  # connection closed mid-response
    timeoutRate: float = 0.0  # no answer for timeoutSeconds, then dropped
    timeoutSeconds: float = 30.0
    dropAfterWriteRate: float = 0.0  # processed (written), then closed mid-response
    timeoutAfterWriteRate: float = 0.0  # processed, then no answer for timeoutSeconds, dropped
    tokenLifetimeSeconds: float | None = (
        None  # access tokens die this early, whatever expires_in said
    )
    tokenLatencyMs: float = 0.0  # added to the tenant's OAuth token requests (code, refresh)
    failNext: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Any, base: FaultConfig | None = None) -> FaultConfig:
        if not isinstance(data, dict):
            raise FaultConfigError("faults must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise FaultConfigError(f"unknown fault setting(s) {unknown}; known: {sorted(known)}")
        merged = {**asdict(base or cls()), **data}
        config = cls(**merged)
        config.validate()
        return config

    def validate(self) -> None:
        rates = {
            "rateLimitRate": self.rateLimitRate,
            "serverErrorRate": self.serverErrorRate,
            "unavailableRate": self.unavailableRate,
            "dropRate": self.dropRate,
            "timeoutRate": self.timeoutRate,
            "dropAfterWriteRate": self.dropAfterWriteRate,
            "timeoutAfterWriteRate": self.timeoutAfterWriteRate,
        }
        for name, value in rates.items():
            if not isinstance(value, int | float) or not 0 <= value <= 1:
                raise FaultConfigError(f"{name} must be a number from 0 to 1, got {value!r}")
        if sum(rates.values()) > 1:
            raise FaultConfigError("the fault rates add up to more than 1")
        for name in (
            "latencyMs",
            "latencyJitterMs",
            "timeoutSeconds",
            "retryAfterSeconds",
            "tokenLatencyMs",
        ):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value < 0:
                raise FaultConfigError(f"{name} must be a number >= 0, got {value!r}")
        if self.tokenLifetimeSeconds is not None and (
            not isinstance(self.tokenLifetimeSeconds, int | float) or self.tokenLifetimeSeconds < 0
        ):
            raise FaultConfigError("tokenLifetimeSeconds must be null or a number >= 0")
        if not isinstance(self.failNext, list) or any(k not in FAULT_KINDS for k in self.failNext):
            raise FaultConfigError(f"failNext must be a list of {list(FAULT_KINDS)}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def active(self) -> bool:
        return bool(
            self.latencyMs
            or self.latencyJitterMs
            or self.failNext
            or self.rateLimitRate
            or self.serverErrorRate
            or self.unavailableRate
            or self.dropRate
            or self.timeoutRate
            or self.dropAfterWriteRate
            or self.timeoutAfterWriteRate
        )


@dataclass
class FaultDecision:
    kind: FaultKind | None
    delay_seconds: float
    retry_after_seconds: int
    timeout_seconds: float

    @property
    def after_write(self) -> bool:
        """Process the request normally, then `await strike_after_write(decision)`."""
        return self.kind in AFTER_WRITE_KINDS


class FaultInjector:
    """Holds a tenant's fault config and its RNG; `draw()` decides one request's fate."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self.config = config or FaultConfig()
        self._rng = random.Random(self.config.seed)

    def configure(self, config: FaultConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed)

    def draw(self) -> FaultDecision | None:
        config = self.config
        if not config.active:
            return None
        delay = config.latencyMs / 1000
        if config.latencyJitterMs:
            delay += self._rng.uniform(0, config.latencyJitterMs) / 1000
        kind: str | None = None
        if config.failNext:
            kind = config.failNext.pop(0)
        else:
            roll = self._rng.random()
            for name, rate in (
                ("rate_limited", config.rateLimitRate),
                ("server_error", config.serverErrorRate),
                ("unavailable", config.unavailableRate),
                ("drop", config.dropRate),
                ("timeout", config.timeoutRate),
                ("drop_after_write", config.dropAfterWriteRate),
                ("timeout_after_write", config.timeoutAfterWriteRate),
            ):
                if roll < rate:
                    kind = name
                    break
                roll -= rate
        return FaultDecision(
            kind=kind,  # type: ignore[arg-type]
            delay_seconds=delay,
            retry_after_seconds=config.retryAfterSeconds,
            timeout_seconds=config.timeoutSeconds,
        )


async def inject(injector: FaultInjector) -> FaultDecision | None:
    """Apply latency, drops and timeouts here; return a decision the provider must render
    (rate_limited, server_error, unavailable), or None to answer normally.

    An after-write decision (`decision.after_write`) is returned too: the provider processes
    the request as if nothing happened, then calls `strike_after_write(decision)` in place of
    sending its answer."""
    decision = injector.draw()
    if decision is None:
        return None
    if decision.delay_seconds:
        await asyncio.sleep(decision.delay_seconds)
    if decision.kind == "drop":
        raise DropConnection
    if decision.kind == "timeout":
        await asyncio.sleep(decision.timeout_seconds)
        raise DropConnection
    return decision if decision.kind else None


async def strike_after_write(decision: FaultDecision | None) -> None:
    """Lose the answer of a processed request: drop the connection mid-answer, or first
    send nothing for `timeoutSeconds`. A no-op unless `decision` is an after-write fault."""
    if decision is None or not decision.after_write:
        return
    if decision.kind == "timeout_after_write":
        await asyncio.sleep(decision.timeout_seconds)
    raise DropConnection


def token_request_tenant(registry: Registry, provider: str, request: Request) -> Tenant | None:
    """The tenant an OAuth token request is for: the owner of its refresh token or code.

    Reads the form (and the query string, which Salesforce also accepts) without consuming
    anything; None when the token or code is unknown or belongs to another provider."""
    form = {key: values[0] for key, values in request.query.items()}
    form.update(request.form())
    grant = form.get("grant_type")
    tenant_id: str | None = None
    if grant == "refresh_token":
        refresh = registry.refresh_tokens.get(form.get("refresh_token", ""))
        tenant_id = refresh.tenant_id if refresh else None
    elif grant == "authorization_code":
        code = registry.auth_codes.get(form.get("code", ""))
        tenant_id = code.tenant_id if code else None
    tenant = registry.tenants.get(tenant_id or "")
    return tenant if tenant is not None and tenant.provider == provider else None


def with_token_latency(registry: Registry, provider: str, handler: Handler) -> Handler:
    """Wrap an OAuth token endpoint so it waits the tenant's `tokenLatencyMs` first."""

    async def delayed(request: Request) -> Response:
        tenant = token_request_tenant(registry, provider, request)
        if tenant is not None and tenant.faults.config.tokenLatencyMs:
            await asyncio.sleep(tenant.faults.config.tokenLatencyMs / 1000)
        return await handler(request)

    return delayed

"""Tenants (a Salesforce org or a HubSpot portal), their tokens, and the registry of them.

A tenant is found from the access token a request carries, exactly as the real services do.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from writeback.sandbox.faults import FaultConfig, FaultInjector


class ProviderState(Protocol):
    """What every emulator's per-tenant data offers the admin API and persistence."""

    def list_records(self, object_name: str) -> list[dict[str, Any]] | None: ...

    def get_record(self, object_name: str, record_id: str) -> dict[str, Any] | None: ...

    def object_counts(self) -> dict[str, int]: ...

    def reset(self) -> None: ...

    def snapshot(self) -> dict[str, Any]: ...


class ProviderKind(Protocol):
    """One emulated provider: how to make its state, its tokens and its tenant info."""

    name: str
    default_settings: dict[str, Any]

    def new_state(self, tenant: Tenant) -> ProviderState: ...

    def restore_state(self, tenant: Tenant, data: dict[str, Any]) -> ProviderState: ...

    def access_token_lifetime(self, tenant: Tenant) -> float: ...

    def new_access_token(self, tenant: Tenant) -> str: ...

    def new_refresh_token(self, tenant: Tenant) -> str: ...

    def tenant_info(self, tenant: Tenant, base_url: str) -> dict[str, Any]: ...


class SettingsError(ValueError):
    pass


@dataclass
class AccessToken:
    token: str
    tenant_id: str
    issued_at: float
    expires_at: float
    scopes: list[str] = field(default_factory=list)


@dataclass
class RefreshToken:
    token: str
    tenant_id: str
    issued_at: float
    revoked: bool = False
    scopes: list[str] = field(default_factory=list)


@dataclass
class AuthCode:
    code: str
    tenant_id: str
    client_id: str
    redirect_uri: str
    expires_at: float
    scopes: list[str] = field(default_factory=list)
    code_challenge: str | None = None


@dataclass
class Tenant:
    id: str
    provider: str
    created_at: float
    settings: dict[str, Any]
    faults: FaultInjector
    client_id: str | None = None
    client_secret: str | None = None
    state: Any = None
    requests: Counter[str] = field(default_factory=Counter)

    def count(self, endpoint: str) -> None:
        self.requests[endpoint] += 1

    def setting(self, name: str) -> Any:
        return self.settings[name]


class TokenProblem(Exception):
    """Why a token was refused: `unknown`, `expired` or `revoked`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Registry:
    def __init__(self, kinds: dict[str, ProviderKind]) -> None:
        self.kinds = kinds
        self.tenants: dict[str, Tenant] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.auth_codes: dict[str, AuthCode] = {}
        self.version = 0  # bumped on every change, for persistence

    def touch(self) -> None:
        self.version += 1

    # --- tenants ---------------------------------------------------------------

    def merged_settings(
        self, kind: ProviderKind, overrides: Any, base: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        if overrides is None:
            overrides = {}
        if not isinstance(overrides, dict):
            raise SettingsError("settings must be a JSON object")
        unknown = sorted(set(overrides) - set(kind.default_settings))
        if unknown:
            raise SettingsError(
                f"unknown {kind.name} setting(s) {unknown}; known: {sorted(kind.default_settings)}"
            )
        merged = {**(base if base is not None else kind.default_settings), **overrides}
        validate = getattr(kind, "validate_settings", None)
        if validate is not None:
            validate(merged)  # SettingsError names the bad value
        return merged

    def create_tenant(
        self,
        provider: str,
        *,
        settings: Any = None,
        faults: FaultConfig | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        tenant_id: str | None = None,
    ) -> Tenant:
        kind = self.kinds[provider]
        tenant = Tenant(
            id=tenant_id or secrets.token_hex(8),
            provider=provider,
            created_at=time.time(),
            settings=self.merged_settings(kind, settings),
            faults=FaultInjector(faults),
            client_id=client_id,
            client_secret=client_secret,
        )
        tenant.state = kind.new_state(tenant)
        self.tenants[tenant.id] = tenant
        self.touch()
        return tenant

    def delete_tenant(self, tenant_id: str) -> None:
        self.tenants.pop(tenant_id, None)
        for table in (self.access_tokens, self.refresh_tokens, self.auth_codes):
            for key in [k for k, v in table.items() if v.tenant_id == tenant_id]:
                del table[key]
        self.touch()

    def reset(self) -> None:
        self.tenants.clear()
        self.access_tokens.clear()
        self.refresh_tokens.clear()
        self.auth_codes.clear()
        self.touch()

    # --- tokens ----------------------------------------------------------------

    def mint_access_token(
        self, tenant: Tenant, *, expires_in: float | None = None, scopes: list[str] | None = None
    ) -> AccessToken:
        kind = self.kinds[tenant.provider]
        now = time.time()
        lifetime = kind.access_token_lifetime(tenant) if expires_in is None else expires_in
        token = AccessToken(
            token=kind.new_access_token(tenant),
            tenant_id=tenant.id,
            issued_at=now,
            expires_at=now + lifetime,
            scopes=list(scopes or []),
        )
        self.access_tokens[token.token] = token
        self.touch()
        return token

    def mint_refresh_token(self, tenant: Tenant, scopes: list[str] | None = None) -> RefreshToken:
        token = RefreshToken(
            token=self.kinds[tenant.provider].new_refresh_token(tenant),
            tenant_id=tenant.id,
            issued_at=time.time(),
            scopes=list(scopes or []),
        )
        self.refresh_tokens[token.token] = token
        self.touch()
        return token

    def tenant_for_access_token(self, token: str | None, provider: str) -> Tenant:
        """The tenant a bearer token belongs to, or TokenProblem(unknown|expired)."""
        if not token:
            raise TokenProblem("unknown")
        found = self.access_tokens.get(token)
        if found is None:
            raise TokenProblem("unknown")
        tenant = self.tenants.get(found.tenant_id)
        if tenant is None or tenant.provider != provider:
            raise TokenProblem("unknown")
        now = time.time()
        early = tenant.faults.config.tokenLifetimeSeconds
        if now >= found.expires_at or (early is not None and now >= found.issued_at + early):
            raise TokenProblem("expired")
        return tenant

    def use_refresh_token(self, token: str, provider: str) -> tuple[Tenant, RefreshToken]:
        found = self.refresh_tokens.get(token)
        if found is None:
            raise TokenProblem("unknown")
        if found.revoked:
            raise TokenProblem("revoked")
        tenant = self.tenants.get(found.tenant_id)
        if tenant is None or tenant.provider != provider:
            raise TokenProblem("unknown")
        return tenant, found

    def expire_access_tokens(self, tenant: Tenant, token: str | None = None) -> int:
        count = 0
        for access in self.access_tokens.values():
            if access.tenant_id == tenant.id and (token is None or access.token == token):
                access.expires_at = min(access.expires_at, time.time() - 1)
                count += 1
        self.touch()
        return count

    def revoke_refresh_tokens(self, tenant: Tenant, token: str | None = None) -> int:
        count = 0
        for refresh in self.refresh_tokens.values():
            if refresh.tenant_id == tenant.id and (token is None or refresh.token == token):
                refresh.revoked = True
                count += 1
        self.touch()
        return count

    def new_auth_code(
        self,
        tenant: Tenant,
        client_id: str,
        redirect_uri: str,
        scopes: list[str] | None = None,
        code_challenge: str | None = None,
    ) -> AuthCode:
        code = AuthCode(
            code=secrets.token_urlsafe(24),
            tenant_id=tenant.id,
            client_id=client_id,
            redirect_uri=redirect_uri,
            expires_at=time.time() + 600,
            scopes=list(scopes or []),
            code_challenge=code_challenge,
        )
        self.auth_codes[code.code] = code
        self.touch()
        return code

    def take_auth_code(self, code: str) -> AuthCode | None:
        """Codes are single-use: a second exchange fails, as on the real services."""
        found = self.auth_codes.pop(code, None)
        self.touch()
        if found is None or found.expires_at < time.time():
            return None
        return found

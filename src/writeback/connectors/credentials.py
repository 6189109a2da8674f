"""Access tokens for connections: decrypted once, refreshed before expiry and on 401.

A refresh happens once per connection even when many requests need it at the same moment:
an asyncio lock per connection inside a process, and on PostgreSQL a row lock
(`SELECT … FOR UPDATE`) across processes. Whoever waited re-reads the row and uses the token
the winner stored. Rotated refresh tokens are stored; when the provider returns none, the old
one is kept. `invalid_grant` marks the connection `bad_credentials`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from writeback.catalog import provider_urls
from writeback.connectors.contract import ConnectorError
from writeback.connectors.http import ProviderHttp
from writeback.store.locks import NoLock, sqlite_file_lock
from writeback.store.secrets import SecretBox
from writeback.store.tables import Connection, ProviderApp

REFRESH_MARGIN = timedelta(seconds=60)
NO_PROVIDER_APP = "NO_PROVIDER_APP"  # the project's fault, not the customer's
RECONNECT = (
    "The customer must reconnect: run the OAuth flow again, or import fresh tokens with"
    " POST /v1/projects/{project}/connections:generate."
)


@dataclass
class Credentials:
    connection_id: str
    provider: str
    access_token: str | None
    expires_at: datetime | None
    status: str

    def fresh(self) -> bool:
        if not self.access_token:
            return False
        return self.expires_at is None or self.expires_at - REFRESH_MARGIN > datetime.now(UTC)


class CredentialStore:
    def __init__(
        self,
        sessions: async_sessionmaker,
        box: SecretBox,
        http: ProviderHttp,
        sandbox: str | None = None,
    ) -> None:
        self._sandbox = sandbox
        self._sessions = sessions
        self._box = box
        self._http = http
        self._cache: dict[str, Credentials] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        engine = sessions.kw.get("bind")
        self._process_lock = sqlite_file_lock(engine, ".refreshlock") if engine else NoLock()
        # a flock is held per process, not per task: one refresh of this process at a time
        # holds it, so one finishing cannot release it under another
        self._process_guard = asyncio.Lock()

    def forget(self, connection_id: str) -> None:
        self._cache.pop(connection_id, None)

    async def access_token(self, connection: Connection) -> str:
        """A usable access token, refreshed first if it is about to expire."""
        cached = self._cache.get(connection.id)
        if cached is None or cached.access_token is None:
            cached = self._from_row(connection)
            self._cache[connection.id] = cached
        if cached.fresh():
            return str(cached.access_token)
        return await self.refresh(connection.id, stale=cached.access_token)

    def _from_row(self, connection: Connection) -> Credentials:
        secret = self._box.decrypt_json(connection.credentials_encrypted)
        assert isinstance(secret, dict)
        token = secret.get("accessToken") or secret.get("apiKey")
        return Credentials(
            connection_id=connection.id,
            provider=connection.provider,
            access_token=token,
            expires_at=connection.access_token_expires_at,
            status=connection.status,
        )

    async def refresh(self, connection_id: str, *, stale: str | None) -> str:
        """Refresh once: callers that waited get the token the first caller stored."""
        lock = self._locks.setdefault(connection_id, asyncio.Lock())
        # one refresh per connection: across tasks (the asyncio lock), across processes on
        # PostgreSQL (the row lock below), across processes on one SQLite file (a file lock) —
        # two refreshes of a rotating refresh token would make the second look revoked
        async with lock, self._process_guard, self._process_lock:
            cached = self._cache.get(connection_id)
            if cached and cached.access_token and cached.access_token != stale and cached.fresh():
                return cached.access_token
            refused: ConnectorError | None = None
            async with self._sessions() as session, session.begin():
                connection = await self._lock_row(session, connection_id)
                current = self._from_row(connection)
                if current.access_token and current.access_token != stale and current.fresh():
                    self._cache[connection_id] = current  # another process refreshed it
                    return str(current.access_token)
                try:
                    fresh = await self._exchange(session, connection)
                except ConnectorError as exc:
                    if exc.error_class != "auth" or exc.code == NO_PROVIDER_APP:
                        raise
                    connection.status = "bad_credentials"  # committed as the block ends
                    self.forget(connection_id)
                    refused = exc
            if refused is not None:
                raise refused
            self._cache[connection_id] = fresh
            return str(fresh.access_token)

    async def _lock_row(self, session: AsyncSession, connection_id: str) -> Connection:
        query = select(Connection).where(Connection.id == connection_id)
        if session.bind.dialect.name == "postgresql":
            query = query.with_for_update()
        connection = (await session.execute(query)).scalar_one_or_none()
        if connection is None:
            raise ConnectorError("auth", "the connection was deleted")
        return connection

    async def _provider_app(self, session: AsyncSession, connection: Connection) -> ProviderApp:
        query = select(ProviderApp).where(
            ProviderApp.project_id == connection.project_id,
            ProviderApp.provider == connection.provider,
        )
        if connection.provider_app_id:
            query = select(ProviderApp).where(ProviderApp.id == connection.provider_app_id)
        app = (await session.execute(query.order_by(ProviderApp.create_time))).scalars().first()
        if app is None:
            raise ConnectorError(
                "auth",
                f"the access token has expired and the project has no {connection.provider}"
                " provider app to refresh it with",
                code=NO_PROVIDER_APP,
            )
        return app

    async def _exchange(self, session: AsyncSession, connection: Connection) -> Credentials:
        secret = self._box.decrypt_json(connection.credentials_encrypted)
        assert isinstance(secret, dict)
        refresh_token = secret.get("refreshToken")
        if not refresh_token:
            raise ConnectorError(
                "auth", f"the access token has expired and there is no refresh token. {RECONNECT}"
            )
        app = await self._provider_app(session, connection)
        urls = provider_urls(connection.provider, self._sandbox)
        assert urls is not None
        response = await self._http.request(
            "POST",
            urls.token_url,
            form={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": app.client_id,
                "client_secret": self._box.decrypt(app.client_secret_encrypted),
            },
        )
        body: Any = response.json() or {}
        if response.status >= 500 or response.status == 429:
            raise ConnectorError(
                "provider_5xx" if response.status >= 500 else "rate_limited",
                f"{connection.provider} token endpoint answered {response.status}",
                status=response.status,
            )
        if response.status != 200 or not body.get("access_token"):
            error = body.get("error") or body.get("status") or f"HTTP {response.status}"
            if error in ("invalid_grant", "BAD_REFRESH_TOKEN") or response.status in (400, 401):
                raise ConnectorError(
                    "auth",
                    f"{connection.provider} refused to refresh the token ({error}). {RECONNECT}",
                    status=response.status,
                )
            raise ConnectorError("provider_5xx", f"token refresh failed: {error}")
        secret["accessToken"] = body["access_token"]
        secret["refreshToken"] = body.get("refresh_token") or refresh_token  # keep when not rotated
        expires_in = body.get("expires_in")
        expires_at = (
            datetime.now(UTC) + timedelta(seconds=float(expires_in))
            if expires_in
            else self._default_expiry(connection)
        )
        connection.credentials_encrypted = self._box.encrypt_json(secret)
        connection.access_token_expires_at = expires_at
        connection.status = "created"  # Ampersand: "created" right after a refresh
        return Credentials(
            connection.id, connection.provider, body["access_token"], expires_at, "created"
        )

    @staticmethod
    def _default_expiry(connection: Connection) -> datetime | None:
        # Salesforce's token response has no expires_in: the session lasts until refused (401).
        return None

    def note_working(self, connection_id: str) -> None:
        """A call just worked (the recorder stores `working`); keep the cached view in step."""
        cached = self._cache.get(connection_id)
        if cached is not None:
            cached.status = "working"

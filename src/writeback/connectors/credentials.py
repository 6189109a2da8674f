"""Access tokens for connections: decrypted once, refreshed before expiry and on 401.

A connection's token is refreshed once even when many writes need it at the same moment, in one
process or in several sharing the database, and one connection's refresh never waits for
another's:

- within a process, every caller needing a refresh of connection C awaits one shared task;
- across processes, the task first takes a short, committed claim on C's row:

      UPDATE connection SET refresh_claim = :mine, refresh_claim_expires_at = :now + ttl
       WHERE id = :id AND (refresh_claim IS NULL OR refresh_claim_expires_at < :now)

  The holder re-reads the row (another process may have refreshed meanwhile), asks the
  provider's token endpoint outside any transaction, bounded by `refresh_timeout`, then stores
  the new tokens and clears the claim in one UPDATE `… WHERE id = :id AND refresh_claim = :mine`.
  A failed refresh clears the claim the same way (a refused one also marks the connection
  `bad_credentials`). A process that finds the row claimed by someone else polls it until the
  access token changes (and uses that token) or the claim is cleared or expires without one
  (and claims it itself). `ttl` is `refresh_timeout` plus time to store the answer, so a claim
  outlives its token request: a rotating refresh token is never sent twice.

Rotated refresh tokens are stored; when the provider returns none, the old one is kept.
`invalid_grant` marks the connection `bad_credentials`. A connection with a `login_url` (a
Salesforce sandbox org or My Domain) refreshes there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from writeback.catalog.urls import token_url
from writeback.connectors.contract import ConnectorError
from writeback.connectors.http import ProviderHttp
from writeback.store.secrets import SecretBox
from writeback.store.tables import Connection, ProviderApp

log = logging.getLogger("writeback.credentials")

REFRESH_MARGIN = timedelta(seconds=60)
NO_PROVIDER_APP = "NO_PROVIDER_APP"  # the project's fault, not the customer's
RECONNECT = (
    "The customer must reconnect: run the OAuth flow again, or import fresh tokens with"
    " POST /v1/projects/{project}/connections:generate."
)
CLAIM_MARGIN_SECONDS = 15.0  # a claim outlives its token request by this: time to store
POLL_FIRST_SECONDS = 0.02  # a waiting process re-reads the claimed row after this,
POLL_MAX_SECONDS = 0.25  # doubling up to this


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
        refresh_timeout: float = 15.0,
    ) -> None:
        self._sandbox = sandbox
        self._sessions = sessions
        self._box = box
        self._http = http
        self._refresh_timeout = refresh_timeout
        self._claim_seconds = refresh_timeout + CLAIM_MARGIN_SECONDS
        self._cache: dict[str, Credentials] = {}
        self._refreshing: dict[str, asyncio.Task[str]] = {}

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

    def _usable(self, credentials: Credentials | None, stale: str | None) -> str | None:
        if credentials and credentials.access_token != stale and credentials.fresh():
            return credentials.access_token
        return None

    # --- single flight in this process -------------------------------------------------

    async def refresh(self, connection_id: str, *, stale: str | None) -> str:
        """A token other than `stale`, refreshed once for every caller that needs it now."""
        token: str | None = None
        for _ in range(2):  # a refresh already under way may end with the caller's stale token
            token = self._usable(self._cache.get(connection_id), stale)
            if token is not None:
                return token
            task = self._refreshing.get(connection_id)
            if task is None:
                task = asyncio.get_running_loop().create_task(
                    self._refresh_once(connection_id, stale)
                )
                self._refreshing[connection_id] = task
                task.add_done_callback(lambda done: self._refresh_done(connection_id, done))
            # shielded: a caller that goes away does not abandon a refresh others wait for
            token = await asyncio.shield(task)
            if token != stale:
                return token
        assert token is not None
        return token

    def _refresh_done(self, connection_id: str, task: asyncio.Task[str]) -> None:
        if self._refreshing.get(connection_id) is task:
            del self._refreshing[connection_id]
        if not task.cancelled():
            task.exception()  # seen by the callers; retrieved here in case all went away

    # --- single flight across processes ------------------------------------------------

    async def _refresh_once(self, connection_id: str, stale: str | None) -> str:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + 3 * self._claim_seconds
        delay = POLL_FIRST_SECONDS
        status_before_waiting: str | None = None
        while True:
            row = await self._read(connection_id)
            current = self._from_row(row)
            token = self._usable(current, stale)
            if token is not None:  # another process refreshed it
                self._cache[connection_id] = current
                return token
            now = datetime.now(UTC)
            expires = row.refresh_claim_expires_at
            claimed = row.refresh_claim is not None and expires is not None and expires >= now
            if not claimed:
                if status_before_waiting not in (None, "bad_credentials") and (
                    row.status == "bad_credentials"
                ):
                    # the refresh we waited for was refused: asking again would be refused too
                    self.forget(connection_id)
                    raise ConnectorError(
                        "auth", f"{row.provider} refused to refresh the token. {RECONNECT}"
                    )
                mine = secrets.token_hex(16)
                if await self._claim(connection_id, mine):
                    return await self._refresh_claimed(connection_id, stale, mine)
            if status_before_waiting is None:
                status_before_waiting = row.status
            if loop.time() > give_up:
                raise ConnectorError(
                    "network",
                    f"gave up waiting for another process to refresh the {row.provider} token"
                    f" of connection {connection_id}",
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, POLL_MAX_SECONDS)

    async def _read(self, connection_id: str) -> Connection:
        async with self._sessions() as session:
            query = select(Connection).where(Connection.id == connection_id)
            connection = (await session.execute(query)).scalar_one_or_none()
        if connection is None:
            raise ConnectorError("auth", "the connection was deleted")
        return connection

    async def _claim(self, connection_id: str, mine: str) -> bool:
        now = datetime.now(UTC)
        statement = (
            update(Connection)
            .where(
                Connection.id == connection_id,
                or_(
                    Connection.refresh_claim.is_(None),
                    Connection.refresh_claim_expires_at.is_(None),
                    Connection.refresh_claim_expires_at < now,
                ),
            )
            .values(
                refresh_claim=mine,
                refresh_claim_expires_at=now + timedelta(seconds=self._claim_seconds),
                update_time=Connection.update_time,  # bookkeeping, not a change of the connection
            )
        )
        return await self._update(statement)

    async def _release(self, connection_id: str, mine: str, *, refused: bool = False) -> None:
        values: dict[str, Any] = {"refresh_claim": None, "refresh_claim_expires_at": None}
        if refused:
            values["status"] = "bad_credentials"
        else:
            values["update_time"] = Connection.update_time
        statement = (
            update(Connection)
            .where(Connection.id == connection_id, Connection.refresh_claim == mine)
            .values(**values)
        )
        await self._update(statement)

    async def _update(self, statement: Any) -> bool:
        """Run one UPDATE in its own short transaction; True if it changed a row."""
        statement = statement.execution_options(synchronize_session=False)
        async with self._sessions() as session, session.begin():
            result = await session.execute(statement)
        return bool(result.rowcount)

    async def _refresh_claimed(self, connection_id: str, stale: str | None, mine: str) -> str:
        """Refresh while holding the claim; the claim is cleared whatever happens."""
        try:
            row = await self._read(connection_id)  # the tokens as of the claim
            current = self._from_row(row)
            token = self._usable(current, stale)
            if token is not None:  # refreshed by another process just before we claimed
                await self._release(connection_id, mine)
                self._cache[connection_id] = current
                return token
            secret = self._box.decrypt_json(row.credentials_encrypted)
            assert isinstance(secret, dict)
            refresh_token = secret.get("refreshToken")
            if not refresh_token:
                raise ConnectorError(
                    "auth",
                    f"the access token has expired and there is no refresh token. {RECONNECT}",
                )
            app = await self._provider_app(row)
            body = await self._exchange(row, app, refresh_token)
        except ConnectorError as exc:
            refused = exc.error_class == "auth" and exc.code != NO_PROVIDER_APP
            await self._release(connection_id, mine, refused=refused)
            if refused:
                self.forget(connection_id)
            raise
        except BaseException:
            with contextlib.suppress(Exception):  # the first error is the one to report
                await asyncio.shield(self._release(connection_id, mine))
            raise
        secret["accessToken"] = body["access_token"]
        secret["refreshToken"] = body.get("refresh_token") or refresh_token  # keep if not rotated
        expires_in = body.get("expires_in")
        expires_at = (
            datetime.now(UTC) + timedelta(seconds=float(expires_in)) if expires_in else None
        )  # Salesforce sends no expires_in: its session lasts until refused (401)
        stored = await self._update(
            update(Connection)
            .where(Connection.id == connection_id, Connection.refresh_claim == mine)
            .values(
                credentials_encrypted=self._box.encrypt_json(secret),
                access_token_expires_at=expires_at,
                status="created",  # Ampersand: "created" right after a refresh
                refresh_claim=None,
                refresh_claim_expires_at=None,
            )
        )
        if not stored:
            # Only if storing took longer than the claim's margin and another process took
            # the claim over (or the connection was deleted): the token works, use it here.
            log.warning(
                "refreshed token of connection %s not stored: the refresh claim was lost",
                connection_id,
            )
        fresh = Credentials(
            connection_id, row.provider, body["access_token"], expires_at, "created"
        )
        self._cache[connection_id] = fresh
        return str(body["access_token"])

    # --- the provider's token endpoint -------------------------------------------------

    async def _provider_app(self, connection: Connection) -> ProviderApp:
        query = select(ProviderApp).where(
            ProviderApp.project_id == connection.project_id,
            ProviderApp.provider == connection.provider,
        )
        if connection.provider_app_id:
            query = select(ProviderApp).where(ProviderApp.id == connection.provider_app_id)
        async with self._sessions() as session:
            found = await session.execute(query.order_by(ProviderApp.create_time))
            app = found.scalars().first()
        if app is None:
            raise ConnectorError(
                "auth",
                f"the access token has expired and the project has no {connection.provider}"
                " provider app to refresh it with",
                code=NO_PROVIDER_APP,
            )
        return app

    async def _exchange(
        self, connection: Connection, app: ProviderApp, refresh_token: str
    ) -> dict[str, Any]:
        """The token endpoint's answer to a refresh grant (no transaction is open here)."""
        url = token_url(connection.provider, connection.login_url, self._sandbox)
        try:
            response = await asyncio.wait_for(
                self._http.request(
                    "POST",
                    url,
                    form={
                        "grant_type": "refresh_token",
                        "refresh_token": refresh_token,
                        "client_id": app.client_id,
                        "client_secret": self._box.decrypt(app.client_secret_encrypted),
                    },
                ),
                self._refresh_timeout,
            )
        except TimeoutError as exc:
            raise ConnectorError(
                "network",
                f"the {connection.provider} token endpoint ({urlsplit(url).netloc}) did not"
                f" answer a token refresh within {self._refresh_timeout:g} s; the write can be"
                " retried",
            ) from exc
        body: Any = response.json() or {}
        if response.status >= 500 or response.status == 429:
            raise ConnectorError(
                "provider_5xx" if response.status >= 500 else "rate_limited",
                f"{connection.provider} token endpoint answered {response.status}",
                status=response.status,
            )
        if response.status != 200 or not isinstance(body, dict) or not body.get("access_token"):
            error = (
                (body.get("error") or body.get("status")) if isinstance(body, dict) else None
            ) or f"HTTP {response.status}"
            if error in ("invalid_grant", "BAD_REFRESH_TOKEN") or response.status in (400, 401):
                raise ConnectorError(
                    "auth",
                    f"{connection.provider} refused to refresh the token ({error}). {RECONNECT}",
                    status=response.status,
                )
            raise ConnectorError("provider_5xx", f"token refresh failed: {error}")
        return body

    def note_working(self, connection_id: str) -> None:
        """A call just worked (the recorder stores `working`); keep the cached view in step."""
        cached = self._cache.get(connection_id)
        if cached is not None:
            cached.status = "working"

"""An authorised HTTP client for one connection: adds the token, refreshes once on 401."""

from __future__ import annotations

from collections.abc import Awaitable

from writeback.connectors.contract import ConnectorError
from writeback.connectors.credentials import RECONNECT, CredentialStore
from writeback.connectors.http import HttpResponse, ProviderHttp
from writeback.store.tables import Connection


class ProviderClient:
    def __init__(
        self, http: ProviderHttp, credentials: CredentialStore, connection: Connection
    ) -> None:
        self.http = http
        self.credentials = credentials
        self.connection = connection
        self.calls = 0  # provider API calls made, for operation logs and benchmarks

    async def send(
        self,
        method: str,
        url: str,
        *,
        json: object = None,
        headers: list[tuple[str, str]] | None = None,
        params: dict[str, str] | None = None,
    ) -> HttpResponse:
        token = await self._token(self.credentials.access_token(self.connection))
        response = await self._send(method, url, token, json, headers, params)
        if response.status != 401:
            return response
        if self.connection.auth_scheme != "oauth2/authorizationCode":
            raise ConnectorError(
                "auth", f"{self.connection.provider} refused the API key (401). {RECONNECT}"
            )
        # The token died early (revoked, session timeout): refresh once and try again.
        token = await self._token(self.credentials.refresh(self.connection.id, stale=token))
        response = await self._send(method, url, token, json, headers, params)
        if response.status == 401:
            raise ConnectorError(
                "auth",
                f"{self.connection.provider} refused a freshly refreshed token (401). {RECONNECT}",
                status=401,
                raw=response.text,
            )
        return response

    @staticmethod
    async def _token(getting: Awaitable[str]) -> str:
        """A token for the call. A failure here (even a token request whose answer was lost)
        happened before the call itself was sent: it says nothing about the write."""
        try:
            return await getting
        except ConnectorError as exc:
            exc.sent = False
            raise

    async def _send(
        self,
        method: str,
        url: str,
        token: str,
        json: object,
        headers: list[tuple[str, str]] | None,
        params: dict[str, str] | None,
    ) -> HttpResponse:
        self.calls += 1
        return await self.http.request(
            method, url, token=token, json=json, headers=headers, params=params
        )

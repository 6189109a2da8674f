"""Outbound HTTP for every connector: one pooled aiohttp session per process.

aiohttp, not httpx: on this kind of machine a gateway forwarding through aiohttp served about
six times the requests per second (DESIGN.md, calibration).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from writeback.connectors.contract import ConnectorError

USER_AGENT = "writeback/0.1"


@dataclass
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class ProviderHttp:
    def __init__(self, *, total_timeout: float = 60.0, connections: int = 256) -> None:
        self._timeout = aiohttp.ClientTimeout(total=total_timeout, connect=10)
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections, ttl_dns_cache=300),
                timeout=self._timeout,
                headers={"User-Agent": USER_AGENT},
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(
        self,
        method: str,
        url: str,
        *,
        token: str | None = None,
        json: Any = None,
        form: dict[str, str] | None = None,
        headers: list[tuple[str, str]] | None = None,
        params: dict[str, str] | None = None,
    ) -> HttpResponse:
        merged: dict[str, str] = {"Accept": "application/json"}
        data: bytes | aiohttp.FormData | None = None
        if json is not None:
            data = orjson.dumps(json)
            merged["Content-Type"] = "application/json"
        elif form is not None:
            data = aiohttp.FormData(form)
        if token:
            merged["Authorization"] = f"Bearer {token}"
        for key, value in headers or []:
            merged[key] = value
        try:
            async with self._client().request(
                method, url, data=data, headers=merged, params=params
            ) as response:
                body = await response.read()
                return HttpResponse(response.status, response.headers, body)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ConnectorError(
                "network",
                f"could not reach {_origin(url)}: {exc.__class__.__name__}"
                + (f" ({exc})" if str(exc) else ""),
            ) from exc


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None

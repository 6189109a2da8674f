"""Outbound HTTP for every connector: a small keep-alive HTTP/1.1 client on asyncio + httptools.

Why not a general client: the provider call is most of a write's cost. DESIGN.md's calibration
found aiohttp six times faster than httpx; profiling writeback then showed aiohttp itself as a
quarter of a write's CPU. Connectors need little — one request at a time per connection,
JSON or form bodies, Content-Length or chunked answers — so this client does only that.

Non-idempotent requests are never retried here: a create that may have reached the provider
must not be sent twice behind the caller's back.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httptools
import orjson

from writeback.connectors.contract import ConnectorError

USER_AGENT = "writeback/0.1"
MAX_IDLE_PER_ORIGIN = 256  # kept-alive connections beyond this are closed after use
# A kept-alive connection idle longer than this is not reused: servers close idle connections
# (uvicorn after 5 s), and a request written just as the server closes gets no answer, which
# for a create is an unknown outcome. A fresh connection costs a handshake; that is cheaper.
MAX_IDLE_SECONDS = 4.0
TIMED_OUT = "TIMED_OUT"  # ConnectorError.code: the provider may still be working on it


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


class _Headers(dict[str, str]):
    """Response headers, looked up case-insensitively (keys are stored lowercase)."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


class _Connection(asyncio.Protocol):
    """One keep-alive connection; parses one response at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self._waiter: asyncio.Future[HttpResponse] | None = None
        self._headers = _Headers()
        self._body: list[bytes] = []
        self.keep_alive = True
        self.idle_since = 0.0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectorError("network", f"unreadable HTTP answer: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectorError("network", "the provider closed the connection mid-answer"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        waiter = self._waiter
        self._waiter = None
        self.keep_alive = self.parser.should_keep_alive()
        response = HttpResponse(self.parser.get_status_code(), self._headers, b"".join(self._body))
        if waiter is not None and not waiter.done():
            waiter.set_result(response)

    def _fail(self, error: ConnectorError) -> None:
        waiter = self._waiter
        self._waiter = None
        self.closed = True
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def send(self, payload: bytes) -> asyncio.Future[HttpResponse]:
        assert self.transport is not None
        self._headers = _Headers()
        self._body = []
        self.parser = httptools.HttpResponseParser(self)
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(payload)
        return self._waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class ProviderHttp:
    def __init__(self, *, total_timeout: float = 60.0, connect_timeout: float = 10.0) -> None:
        self._timeout = total_timeout
        self._connect_timeout = connect_timeout
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._ssl = ssl.create_default_context()

    async def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    async def _connect(self, scheme: str, host: str, port: int) -> _Connection:
        idle = self._idle.get((scheme, host, port))
        loop = asyncio.get_running_loop()
        while idle:
            connection = idle.pop()
            if (
                not connection.closed
                and connection.transport
                and not connection.transport.is_closing()
                and loop.time() - connection.idle_since < MAX_IDLE_SECONDS
            ):
                return connection
            connection.close()
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(
                    _Connection,
                    host,
                    port,
                    ssl=self._ssl if scheme == "https" else None,
                    server_hostname=host if scheme == "https" else None,
                ),
                self._connect_timeout,
            )
        except (OSError, TimeoutError) as exc:
            raise ConnectorError(
                "network",
                f"could not reach {scheme}://{host}:{port}: {exc.__class__.__name__}",
            ) from exc
        return protocol

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
        timeout: float | None = None,
    ) -> HttpResponse:
        parts = urlsplit(url)
        scheme = parts.scheme
        host = parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if params:
            target += ("&" if "?" in target else "?") + urlencode(params)
        body = b""
        lines = [
            f"{method} {target} HTTP/1.1",
            f"Host: {parts.netloc}",
            f"User-Agent: {USER_AGENT}",
            "Accept: application/json",
        ]
        if json is not None:
            body = orjson.dumps(json)
            lines.append("Content-Type: application/json")
        elif form is not None:
            body = urlencode(form).encode()
            lines.append("Content-Type: application/x-www-form-urlencoded")
        if token:
            lines.append(f"Authorization: Bearer {token}")
        for key, value in headers or []:
            if "\r" in key or "\n" in key or "\r" in value or "\n" in value:
                raise ConnectorError("bad_request", f"header {key!r} contains a line break")
            lines.append(f"{key}: {value}")
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        connection = await self._connect(scheme, host, port)
        # from here on the request may reach the provider: a failure without an answer leaves
        # its outcome unknown (`sent=True`), which callers must not treat as "not done"
        wait = self._timeout if timeout is None else timeout
        try:
            response = await asyncio.wait_for(connection.send(payload), wait)
        except TimeoutError as exc:
            connection.close()
            raise ConnectorError(
                "network",
                f"no answer from {scheme}://{parts.netloc} within {wait:g}s",
                sent=True,
                code=TIMED_OUT,
            ) from exc
        except asyncio.CancelledError:
            connection.close()  # half-used: neither reusable nor worth keeping open
            raise
        except ConnectorError as exc:
            connection.close()
            raise ConnectorError(
                "network",
                f"lost the answer from {scheme}://{parts.netloc}: {exc.message}",
                sent=True,
            ) from exc
        idle = self._idle.setdefault((scheme, host, port), [])
        if connection.keep_alive and not connection.closed and len(idle) < MAX_IDLE_PER_ORIGIN:
            connection.idle_since = asyncio.get_running_loop().time()
            idle.append(connection)
        else:
            connection.close()
        return response


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None

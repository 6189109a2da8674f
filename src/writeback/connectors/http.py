"""Outbound HTTP for every connector and webhook delivery, on aiohttp.

aiohttp speaks the protocol (keep-alive pools, TLS, proxies, 1xx answers, chunked and
close-delimited bodies). This module adds what the delivery guarantees need on top:

- every failure is a `ConnectorError` that says whether the request may have reached the
  provider: `sent=False` only when it certainly did not (DNS, connect, TLS handshake, proxy
  tunnel, a refusing resolver), so callers may send it again; anything later is `sent=True`,
  an unknown outcome, and a timeout after sending is `code=TIMED_OUT`;
- nothing is sent twice behind the caller's back: aiohttp's own retry of "idempotent"
  requests on a dropped connection is switched off (a DELETE sent twice answers 404 for a
  record that was deleted), and no redirect is followed;
- answers are read up to `max_response_bytes` and refused beyond it, without reading the rest.
"""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson
from aiohttp.abc import AbstractResolver
from yarl import URL

from writeback.connectors.contract import ConnectorError

USER_AGENT = "writeback/0.1"
# A kept-alive connection idle longer than this is not reused: servers close idle connections
# (uvicorn after 5 s), and a request written just as the server closes gets no answer, which
# for a create is an unknown outcome. A fresh connection costs a handshake; that is cheaper.
MAX_IDLE_SECONDS = 4.0
MAX_CONNECTIONS_PER_HOST = 256  # generous: a provider call waits for a free one beyond this
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
TIMED_OUT = "TIMED_OUT"  # ConnectorError.code: the provider may still be working on it
RESPONSE_TOO_LARGE = "RESPONSE_TOO_LARGE"  # ConnectorError.code: the answer was not read
SIZE_SETTING = "WRITEBACK_MAX_RESPONSE_BYTES"
# headers are checked before they get here; this is the last defence against a split request
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_BREAK = re.compile(r"[\r\n]")


@dataclass
class HttpResponse:
    status: int
    headers: Mapping[str, str]  # case-insensitive lookups
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


@dataclass(frozen=True)
class _Proxy:
    url: URL
    authorization: str | None  # Proxy-Authorization, from the proxy URL's user info


class _EnvProxies:
    """HTTP_PROXY / HTTPS_PROXY / NO_PROXY (either case), read once when the session opens.

    Read here rather than by aiohttp's `trust_env`, which also reads ~/.netrc and adds its
    credentials to requests that carry none (a webhook delivery would hand them to the
    receiver), and asks a thread for every request."""

    def __init__(self) -> None:
        found = urllib.request.getproxies_environment()
        self._no_proxy = {"no": found["no"]} if "no" in found else {}
        self._by_scheme = {
            scheme: _proxy(found[scheme]) for scheme in ("http", "https") if found.get(scheme)
        }

    def get(self, url: URL) -> _Proxy | None:
        proxy = self._by_scheme.get(url.scheme)
        if proxy is None or not url.host:
            return None
        if self._no_proxy and urllib.request.proxy_bypass_environment(url.host, self._no_proxy):
            return None
        return proxy


def _proxy(value: str) -> _Proxy:
    url = URL(value if "://" in value else f"http://{value}")
    if url.user is None:
        return _Proxy(url, None)
    pair = f"{url.user}:{url.password or ''}".encode()
    return _Proxy(url.with_user(None), "Basic " + base64.b64encode(pair).decode("ascii"))


class ProviderHttp:
    """One pool of keep-alive connections; built anywhere, opened inside the running loop."""

    def __init__(
        self,
        *,
        total_timeout: float = 60.0,
        connect_timeout: float = 10.0,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        max_connections_per_host: int = MAX_CONNECTIONS_PER_HOST,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self._total_timeout = total_timeout
        self._connect_timeout = connect_timeout
        self._max_response_bytes = max_response_bytes
        self._per_host = max_connections_per_host
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._proxies: _EnvProxies | None = None
        self._timeout = aiohttp.ClientTimeout(total=total_timeout, connect=connect_timeout)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None and self._loop is asyncio.get_running_loop():
            await session.close()

    def _open(self) -> aiohttp.ClientSession:
        """The session, created on first use: aiohttp binds it to the running loop."""
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and not session.closed and self._loop is loop:
            return session
        connector = aiohttp.TCPConnector(
            limit=0,  # no global cap: one slow provider must not hold up the others
            limit_per_host=self._per_host,
            keepalive_timeout=MAX_IDLE_SECONDS,
            ssl=ssl.create_default_context(),  # verifies; SSL_CERT_FILE adds a private CA
            resolver=self._resolver,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            # as before: no compression asked for (an answer compressed anyway is still
            # decompressed; the cap counts decompressed bytes), no Content-Type without a body
            skip_auto_headers=("Accept-Encoding", "Content-Type"),
            cookie_jar=aiohttp.DummyCookieJar(),  # one customer's cookies are not another's
            timeout=self._timeout,
        )
        # aiohttp sends a GET, PUT or DELETE a second time when the connection drops before
        # the answer (there is no public switch): the caller decides what a lost answer means.
        session._retry_connection = False
        self._session, self._loop, self._proxies = session, loop, _EnvProxies()
        return session

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
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        target = _url(url)
        sending: list[tuple[str, str]] = []
        body: bytes | None = None
        if json is not None:
            body = orjson.dumps(json)
            sending.append(("Content-Type", "application/json"))
        elif form is not None:
            body = urlencode(form).encode()
            sending.append(("Content-Type", "application/x-www-form-urlencoded"))
        if token:
            sending.append(("Authorization", f"Bearer {token}"))
        for key, value in headers or []:
            if _CONTROL.search(key) or _CONTROL.search(value):
                what = "a line break" if _BREAK.search(key + value) else "a control character"
                raise ConnectorError("bad_request", f"header {key!r} contains {what}")
            sending.append((key, value))
        session = self._open()
        assert self._proxies is not None
        proxy = self._proxies.get(target)
        proxy_headers = None
        if proxy is not None and proxy.authorization:
            # a tunnel (https) authenticates on CONNECT; plain http on each request
            if target.scheme == "https":
                proxy_headers = {"Proxy-Authorization": proxy.authorization}
            else:
                sending.append(("Proxy-Authorization", proxy.authorization))
        wait, deadline = self._total_timeout, self._timeout
        if timeout is not None:
            wait, deadline = timeout, aiohttp.ClientTimeout(timeout, connect=self._connect_timeout)
        origin = _origin(target)
        try:
            response = await session.request(
                method,
                target,
                data=body,
                headers=sending,
                timeout=deadline,
                allow_redirects=False,
                proxy=proxy.url if proxy else None,
                proxy_headers=proxy_headers,
            )
        except (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError) as exc:
            # DNS, connect, TLS handshake, proxy connect, a resolver's refusal: never sent
            raise ConnectorError(
                "network", f"could not reach {origin}: {_why(exc)}", sent=False
            ) from exc
        except aiohttp.ClientHttpProxyError as exc:
            raise ConnectorError(
                "network",
                f"could not reach {origin}: the proxy refused the tunnel ({exc.status})",
                sent=False,
            ) from exc
        except aiohttp.InvalidURL as exc:
            raise ConnectorError("bad_request", f"cannot send to {origin}: {exc}") from exc
        except ConnectorError as exc:  # raised by a resolver, which runs before sending
            raise ConnectorError(
                "network", f"could not reach {origin}: {exc.message}", sent=False
            ) from exc
        # From here on the request may have reached the provider: a failure without an answer
        # leaves its outcome unknown (`sent=True`); callers must not treat it as "not done".
        except TimeoutError as exc:
            raise _timed_out(origin, wait) from exc
        except aiohttp.ClientError as exc:
            raise _lost(origin, str(exc) or exc.__class__.__name__) from exc
        if response.status < 200:  # aiohttp skips 1xx, but a 101 we did not ask for ends it
            response.close()
            raise _lost(origin, f"an interim answer (HTTP {response.status}) and nothing after")
        try:
            received = await self._read(response, origin)
        except TimeoutError as exc:
            response.close()
            raise _timed_out(origin, wait) from exc
        except aiohttp.ClientError as exc:
            response.close()
            raise _lost(origin, str(exc) or exc.__class__.__name__) from exc
        except BaseException:
            response.close()  # half-read (cancelled, too large): neither reusable nor kept
            raise
        response.release()
        return HttpResponse(response.status, response.headers, received)

    async def _read(self, response: aiohttp.ClientResponse, origin: str) -> bytes:
        """The body, read no further than the cap (decompressed, when it came compressed)."""
        cap = self._max_response_bytes
        length = response.content_length
        if length is not None and length > cap:
            raise _too_large(origin, response.status, cap)
        if length is not None and not response.headers.get("Content-Encoding"):
            return await response.read()  # exactly `length` bytes, within the cap
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_any():
            size += len(chunk)
            if size > cap:
                raise _too_large(origin, response.status, cap)
            chunks.append(chunk)
        return b"".join(chunks)


def _url(url: str) -> URL:
    """Sent as built when it is already a valid request target (connectors quote their ids
    and queries); quoted by yarl otherwise."""
    if url.isascii() and url.isprintable() and " " not in url:
        return URL(url, encoded=True)
    return URL(url)


def _origin(url: URL) -> str:
    """scheme://host:port, for messages: never the path, query or credentials."""
    host = url.raw_host or ""
    return f"{url.scheme}://{f'[{host}]' if ':' in host else host}:{url.port}"


def _why(exc: aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError) -> str:
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return "timed out connecting"
    cause = exc.os_error
    detail = cause.strerror or str(cause) or cause.__class__.__name__
    return f"{cause.__class__.__name__}: {detail}"


def _timed_out(origin: str, wait: float) -> ConnectorError:
    return ConnectorError(
        "network", f"no answer from {origin} within {wait:g}s", sent=True, code=TIMED_OUT
    )


def _lost(origin: str, detail: str) -> ConnectorError:
    return ConnectorError("network", f"lost the answer from {origin}: {detail}", sent=True)


def _too_large(origin: str, status: int, cap: int) -> ConnectorError:
    return ConnectorError(
        "network",
        f"the answer from {origin} (HTTP {status}) is larger than {cap:,} bytes and was not"
        f" read; raise {SIZE_SETTING} to accept larger answers",
        status=status,
        sent=True,
        code=RESPONSE_TOO_LARGE,
    )


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None

"""A tiny, fast ASGI layer for the emulators: request, response, router.

The sandbox must never be the bottleneck of writeback's benchmarks, so it skips a web
framework: one regex match per request, orjson for bodies.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import orjson

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class InvalidJson(ValueError):
    """The request body is not JSON; each provider renders this its own way."""


class HttpError(Exception):
    """Raise from a handler to answer with `response` at once."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class DropConnection(Exception):
    """Raise from a handler to close the connection without a complete answer."""


@dataclass
class Request:
    method: str
    path: str
    query_string: bytes
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    _query: dict[str, list[str]] | None = None

    @property
    def query(self) -> dict[str, list[str]]:
        if self._query is None:
            self._query = parse_qs(self.query_string.decode("latin-1"), keep_blank_values=True)
        return self._query

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError as exc:
            raise InvalidJson(str(exc)) from exc

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    def bearer_token(self) -> str | None:
        value = self.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        if scheme.lower() in ("bearer", "oauth") and token.strip():
            return token.strip()
        return None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    content_type: bytes | None = b"application/json;charset=UTF-8"

    def header(self, name: str, value: str) -> Response:
        self.headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
        return self


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
    response = Response(status, orjson.dumps(data))
    for name, value in (headers or {}).items():
        response.header(name, value)
    return response


def empty_response(status: int = 204) -> Response:
    return Response(status, b"", content_type=None)


def html_response(status: int, html: str) -> Response:
    return Response(status, html.encode(), content_type=b"text/html; charset=utf-8")


def redirect(location: str) -> Response:
    return empty_response(302).header("Location", location)


Handler = Callable[[Request], Awaitable[Response]]
_PARAM = re.compile(r"\{(\w+)\}")


class Router:
    """Method + path-template routes. `{name}` matches one path segment."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        pattern = "^" + _PARAM.sub(r"(?P<\1>[^/]+)", template.rstrip("/")) + "/?$"
        self._routes.append((method.upper(), re.compile(pattern), handler))

    def route(self, method: str, template: str) -> Callable[[Handler], Handler]:
        def decorator(handler: Handler) -> Handler:
            self.add(method, template, handler)
            return handler

        return decorator

    def include(self, other: Router) -> None:
        self._routes.extend(other._routes)

    def match(self, method: str, path: str) -> tuple[Handler | None, dict[str, str], bool]:
        """(handler, params, path_exists); path_exists tells a 405 from a 404."""
        path_exists = False
        for route_method, pattern, handler in self._routes:
            found = pattern.match(path)
            if found is None:
                continue
            path_exists = True
            if route_method == method:
                return handler, found.groupdict(), True
        return None, {}, path_exists


async def send_response(send: Send, response: Response) -> None:
    headers = list(response.headers)
    if response.content_type is not None:
        headers.append((b"content-type", response.content_type))
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


def build_request(scope: Scope, body: bytes) -> Request:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    return Request(
        method=scope["method"],
        path=scope["path"],
        query_string=scope.get("query_string", b""),
        headers=headers,
        body=body,
    )

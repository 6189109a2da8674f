"""Pure ASGI middleware: a request id per request, echoed as X-Request-Id and in problems.

Pure ASGI (not BaseHTTPMiddleware) because this sits on the hot path of every write.
"""

from __future__ import annotations

import uuid
from typing import Any

Scope = dict[str, Any]


class RequestIdMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        encoded = request_id.encode("latin-1")

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", encoded))
            await send(message)

        await self.app(scope, receive, send_with_id)


def usable_request_id(raw: bytes | None) -> str | None:
    """A client-sent request id, if it is short and printable; anything else is replaced."""
    if raw:
        text = raw.decode("latin-1")
        if 0 < len(text) <= 128 and text.isprintable():
            return text
    return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return usable_request_id(value)
    return None

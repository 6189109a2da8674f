"""Small helpers for the raw ASGI paths (the write fast path, the sandbox)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any


async def read_body(receive: Callable[[], Awaitable[dict[str, Any]]]) -> bytes:
    """The whole request body, however many messages it arrives in."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)

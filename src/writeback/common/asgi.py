"""Small helpers for the raw ASGI paths (the write fast path, the sandbox)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any


class BodyTooLarge(Exception):
    """The request body grew past the limit the reader was given."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")
        self.limit = limit


async def read_body(
    receive: Callable[[], Awaitable[dict[str, Any]]], limit: int | None = None
) -> bytes:
    """The whole request body, however many messages it arrives in. With `limit`, stops
    reading (`BodyTooLarge`) as soon as more than `limit` bytes have arrived."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)

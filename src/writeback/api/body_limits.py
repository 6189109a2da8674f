"""Pure ASGI middleware at the network edge, around everything served (the write fast path
included): request bodies have a size limit and must be JSON.

- A `Content-Length` above the limit is refused at once, before a byte of the body is read.
- A body without one (chunked) is counted as it arrives: reading past the limit raises
  `BodyTooLarge` (an `ApiProblem`, so code that renders problems answers 413 itself); if the
  app answers something else, or nothing, the 413 is sent here instead.
- A body whose `Content-Type` is not JSON (or missing) is a 415 before anything reads it.
- The connection stays open after such an answer: the HTTP server (uvicorn) discards the rest
  of the body as it arrives, without keeping it, and the client reads the answer. (Closing at
  once would make the kernel reset the connection over the unread bytes, and the client would
  see a reset instead of the 413.) Clients stop sending when the answer comes.
- A NUL character in the path or query (`%00`) is a 400: no id or name holds one, and
  PostgreSQL cannot even compare it.

Starlette's RequestBodyLimitMiddleware answers in plain text and reads a too-large declared
body's first bytes before refusing; writeback answers problem+json and refuses at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from writeback.api.problems import PROBLEM_JSON, ApiProblem, issue
from writeback.api.request_id import usable_request_id

Scope = dict[str, Any]
Message = dict[str, Any]
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class BodyTooLarge(ApiProblem):
    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            f"The request body is larger than {limit} bytes, the limit of this server.",
            remedy="Send fewer or smaller records per request (a batch of 100 ordinary records"
            " fits easily), or ask the operator to raise WRITEBACK_MAX_BODY_BYTES.",
            code="body_too_large",
        )


def unsupported_media_type(content_type: str | None) -> ApiProblem:
    sent = f"Content-Type {content_type[:100]!r}" if content_type else "no Content-Type"
    return ApiProblem(
        415,
        f"The body was sent with {sent}; this endpoint reads JSON only.",
        remedy="Send the body as JSON with the header `Content-Type: application/json`"
        " (with curl: -H 'Content-Type: application/json' next to -d).",
        issues=[issue("header", "Content-Type", "must be application/json", content_type)],
        code="unsupported_media_type",
    )


def nul_in_url() -> ApiProblem:
    return ApiProblem(
        400,
        "The URL contains a NUL character (%00); no id, name or parameter holds one.",
        remedy="Remove %00 from the path and query.",
        issues=[issue("path", "path", "contains %00")],
    )


def is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


@dataclass
class _Request:
    """What the middleware knows about one request and its answer."""

    limit: int
    received: int = 0
    exceeded: bool = False
    started: bool = False  # the answer's start went out (the app's or ours)
    replaced: bool = False  # the app's answer was replaced by the 413


class BodyLimits:
    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\0" in scope.get("path", "") or b"%00" in scope.get("query_string", b""):
            await answer(send, nul_in_url(), _request_id(scope))
            return
        length, content_type, chunked = _framing(scope)
        if length is not None and length > self.max_body_bytes:
            await answer(send, BodyTooLarge(self.max_body_bytes), _request_id(scope))
            return
        expects_body = bool(length) or chunked
        if expects_body and scope["method"] in BODY_METHODS and not is_json(content_type or b""):
            shown = content_type.decode("latin-1") if content_type is not None else None
            await answer(send, unsupported_media_type(shown), _request_id(scope))
            return
        state = _Request(self.max_body_bytes)

        async def counted_receive() -> Message:
            if state.exceeded:
                raise BodyTooLarge(state.limit)
            message: Message = await receive()
            if message["type"] == "http.request":
                state.received += len(message.get("body", b""))
                if state.received > state.limit:
                    state.exceeded = True
                    raise BodyTooLarge(state.limit)
            return message

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                if state.exceeded and message["status"] != 413:
                    # the app made something else of the refused body (a 400, a 500): say 413
                    state.started = state.replaced = True
                    await answer(send, BodyTooLarge(state.limit), _sent_request_id(message))
                    return
                state.started = True
            elif state.replaced:
                return  # the rest of the app's answer, replaced by the 413
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not state.exceeded:
                raise
            if not state.started:  # the app let the refusal through without answering
                await answer(send, BodyTooLarge(state.limit), _request_id(scope))


async def answer(send: Any, problem: ApiProblem, request_id: str) -> None:
    """A problem answered at the edge (the body stays unread)."""
    payload = orjson.dumps(problem.body(request_id))
    await send(
        {
            "type": "http.response.start",
            "status": problem.status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(payload)).encode()),
                (b"x-request-id", request_id.encode("latin-1")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _framing(scope: Scope) -> tuple[int | None, bytes | None, bool]:
    length: int | None = None
    content_type: bytes | None = None
    chunked = False
    for key, value in scope.get("headers", ()):
        if key == b"content-length" and length is None:
            try:
                length = int(value)
            except ValueError:
                length = None  # the HTTP server refuses a malformed one before the app
        elif key == b"content-type" and content_type is None:
            content_type = value
        elif key == b"transfer-encoding":
            chunked = True
    return length, content_type, chunked


def _request_id(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key == b"x-request-id":
            given = usable_request_id(value)
            if given:
                return given
    return uuid.uuid4().hex


def _sent_request_id(message: Message) -> str:
    for key, value in message.get("headers", ()):
        if key.lower() == b"x-request-id":
            return bytes(value).decode("latin-1")
    return uuid.uuid4().hex

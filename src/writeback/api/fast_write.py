"""The Write API endpoint served straight from ASGI, in front of FastAPI.

Writes are the hot path: FastAPI's routing, dependency injection and middleware cost about a
quarter of a write's CPU. This handles exactly `POST /v1/projects/{p}/integrations/{i}/objects/
{o}` with the same behaviour as the documented FastAPI route (which stays, for the OpenAPI
document); everything else passes through untouched.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from pydantic import ValidationError

from writeback.api.auth import Caller, presented_key
from writeback.api.deps import AppState, visible_project
from writeback.api.problems import (
    PROBLEM_JSON,
    ApiProblem,
    invalid_request,
    retry_after_header,
    unexpected_problem,
    validation_issues,
)
from writeback.api.request_id import usable_request_id
from writeback.api.scopes import WRITE_ROUTE, authorize, route
from writeback.api.write_problems import problem_for
from writeback.common.asgi import read_body
from writeback.operations.delivery import OperationHook, WriteReply
from writeback.operations.idempotency import IdempotentWrites, parse_key, request_fingerprint
from writeback.store.errors import StoreUnavailable
from writeback.store.tables import new_id
from writeback.writes.errors import WriteError
from writeback.writes.request import WriteRequest

WRITE_PATH = re.compile(r"^/v1/projects/([^/]+)/integrations/([^/]+)/objects/([^/]+)/?$")
_ROUTE = route("POST", WRITE_ROUTE)
log = logging.getLogger("writeback.api")


async def authorized_write(
    state: AppState,
    caller: Caller,
    project_ref: str,
    integration: str,
    object_name: str,
    request: WriteRequest | Callable[[], WriteRequest],
    *,
    idempotency_key: Sequence[str | bytes] = (),
    raw_body: bytes = b"",
    request_id: str | None = None,
) -> WriteReply:
    """A write as `caller` (authenticated, `write` scope checked): project and target come from
    short-lived caches, and no database connection is held while the provider answers.
    `request` may be a parser, called after the project is found (an unknown project is
    reported before a bad body).

    With `idempotency_key` (the `Idempotency-Key` header values) the write runs once per key
    and project: `raw_body` identifies the request, and an answer that is a problem (stored for
    replays) comes back as a reply with `Content-Type: application/problem+json`."""
    project = visible_project(await state.projects.find(project_ref), caller, project_ref)
    key = parse_key(idempotency_key)
    body = request() if callable(request) else request
    if key is None:
        return await state.delivery.write(project.id, integration, object_name, body)
    delivery = state.delivery
    keys = IdempotentWrites(
        delivery.committer, state.engine, hours=state.settings.idempotency_hours
    )

    def write(on_operation: OperationHook) -> Awaitable[WriteReply]:
        return delivery.write(project.id, integration, object_name, body, on_operation=on_operation)

    def render(error: WriteError) -> WriteReply:
        problem = problem_for(error)
        headers = {"Content-Type": PROBLEM_JSON, **retry_after_header(problem)}
        return WriteReply(problem.status, problem.body(request_id), headers)

    return await keys.run(
        project.id,
        key,
        request_fingerprint("POST", f"/integrations/{integration}/objects/{object_name}", raw_body),
        write,
        render=render,
        answer_at_accept=body.mode == "asynchronous",
    )


class FastWritePath:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            found = WRITE_PATH.match(scope["path"])
            if found is not None:
                await self._write(scope, receive, send, *found.groups())
                return
        await self.app(scope, receive, send)

    async def _write(
        self,
        scope: dict[str, Any],
        receive: Any,
        send: Any,
        project: str,
        integration: str,
        object_name: str,
    ) -> None:
        headers = {k: v for k, v in scope["headers"]}
        request_id = _request_id(headers.get(b"x-request-id"))
        state: AppState = self.app.state.writeback
        try:
            # The key and scope first: a body sent without them is never read. Reading happens
            # inside this try, so a limit hit while reading (an ApiProblem) is a problem answer.
            key = presented_key(scope, allow_query=state.settings.allow_query_api_key)
            caller = await state.auth.caller_for_key(key)
            authorize(caller, _ROUTE, scope.get("query_string", b""))
            body = await read_body(receive)

            def parse() -> WriteRequest:
                try:
                    return WriteRequest.model_validate_json(body)
                except ValidationError as exc:
                    raise invalid_request(validation_issues(exc.errors())) from exc

            reply = await authorized_write(
                state,
                caller,
                project,
                integration,
                object_name,
                parse,
                idempotency_key=[v for k, v in scope["headers"] if k == b"idempotency-key"],
                raw_body=body,
                request_id=request_id,
            )
            status, payload, extra = reply.status, orjson.dumps(reply.body), reply.headers
            content_type = b"application/json"
            if "Content-Type" in extra:  # a problem kept under an Idempotency-Key
                extra = dict(extra)
                content_type = extra.pop("Content-Type").encode()
        except (ApiProblem, WriteError, StoreUnavailable) as error:
            problem = error if isinstance(error, ApiProblem) else problem_for(error)
            status, payload = problem.status, orjson.dumps(problem.body(request_id))
            extra, content_type = retry_after_header(problem), PROBLEM_JSON.encode()
        except Exception as error:
            problem = unexpected_problem(error, "a write")
            status, payload = problem.status, orjson.dumps(problem.body(request_id))
            extra, content_type = retry_after_header(problem), PROBLEM_JSON.encode()
        response_headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(payload)).encode()),
            (b"x-request-id", request_id.encode("latin-1")),
            *((k.lower().encode(), v.encode()) for k, v in extra.items()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": payload})


def _request_id(given: bytes | None) -> str:
    return usable_request_id(given) or new_id().replace("-", "")

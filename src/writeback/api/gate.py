"""The auth gate: every `/v1` request's key and scopes are checked before the app runs.

FastAPI reads a request's body before it runs dependencies, so checking the key in a dependency
would let anyone make the server read (and hold) any body. This pure ASGI middleware answers a
missing or invalid key (401) and a missing scope (403) from the headers alone, and leaves the
caller in `scope["state"]` for the `context` dependency. The write fast path, which sits in front
of the app, does the same checks itself (api/fast_write.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from writeback.api.auth import Caller, presented_key
from writeback.api.problems import PROBLEM_JSON, ApiProblem, retry_after_header
from writeback.api.scopes import authorize

if TYPE_CHECKING:
    from writeback.api.deps import AppState

CALLER = "caller"  # the key in scope["state"]


def is_api_path(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


async def admit(state: AppState, scope: dict[str, Any]) -> Caller | None:
    """The caller a request acts as, or None on a public route; raises ApiProblem (401/403).
    A path that matches no route still needs a valid key (the app then answers 404 or 405)."""
    route = state.routes.find(scope["method"], scope["path"])
    if route is not None and route.scope is None:
        return None
    key = presented_key(scope, allow_query=state.settings.allow_query_api_key)
    caller = await state.auth.caller_for_key(key)
    if route is not None:
        authorize(caller, route, scope.get("query_string", b""))
    return caller


class AuthGate:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        try:
            caller = await admit(scope["app"].state.writeback, scope)
        except ApiProblem as problem:
            # Answered from the headers: the body is never read (the server discards it).
            await send_problem(send, problem, scope.get("state", {}).get("request_id"))
            return
        if caller is not None:
            scope.setdefault("state", {})[CALLER] = caller
        await self.app(scope, receive, send)


async def send_problem(send: Any, problem: ApiProblem, request_id: str | None) -> None:
    payload = orjson.dumps(problem.body(request_id))
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(payload)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in retry_after_header(problem).items()),
    ]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})

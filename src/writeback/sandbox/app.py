"""The sandbox ASGI app: both emulators and the admin API on one port."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from writeback.common.asgi import read_body
from writeback.sandbox.admin import build_admin_router
from writeback.sandbox.http import (
    DropConnection,
    HttpError,
    Receive,
    Request,
    Response,
    Router,
    Scope,
    Send,
    build_request,
    json_response,
    send_response,
)
from writeback.sandbox.persistence import StateFile
from writeback.sandbox.tenants import Registry

log = logging.getLogger("writeback.sandbox")


class Emulator:
    """What a provider package contributes: its kind, its routes, its 404 for unknown paths."""

    def __init__(self, kind: Any, router: Router, prefixes: tuple[str, ...], not_found: Any):
        self.kind = kind
        self.router = router
        self.prefixes = prefixes
        self.not_found = not_found


def default_emulators(registry: Registry) -> list[Emulator]:
    from writeback.sandbox import hubspot, salesforce

    return [salesforce.emulator(registry), hubspot.emulator(registry)]


def new_registry() -> Registry:
    from writeback.sandbox import hubspot, salesforce

    return Registry({"salesforce": salesforce.KIND, "hubspot": hubspot.KIND})


class SandboxApp:
    def __init__(self, registry: Registry | None = None, state_file: Path | None = None) -> None:
        self.registry = registry or new_registry()
        self.router = build_admin_router(self.registry)
        self.emulators = default_emulators(self.registry)
        for emulator in self.emulators:
            self.router.include(emulator.router)
        self.state = StateFile(state_file, self.registry) if state_file else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.state is not None:
                    self.state.load()
                    self.state.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.state is not None:
                    await self.state.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _unmatched(self, request: Request, path_exists: bool) -> Response:
        if path_exists:
            return json_response(405, {"error": f"{request.method} not allowed on {request.path}"})
        for emulator in self.emulators:
            if request.path.startswith(emulator.prefixes):
                return emulator.not_found(request)
        return json_response(404, {"error": f"no such path {request.path}"})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = build_request(scope, await read_body(receive))
        handler, params, path_exists = self.router.match(request.method, request.path)
        if handler is None:
            await send_response(send, self._unmatched(request, path_exists))
            return
        request.params = params
        try:
            response = await handler(request)
        except HttpError as exc:
            response = exc.response
        except DropConnection:
            if request.method != "GET":
                self.registry.touch()  # an after-write fault may have changed state
            await _drop(send)
            return
        except Exception:
            log.exception("sandbox error on %s %s", request.method, request.path)
            response = json_response(500, {"error": "sandbox internal error"})
        if request.method != "GET":
            self.registry.touch()
        await send_response(send, response)


async def _drop(send: Send) -> None:
    # Promise a body, send part of it, return: the server closes the connection mid-answer,
    # which the client sees as a dropped connection.
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"1024")],
        }
    )
    await send({"type": "http.response.body", "body": b"{", "more_body": True})


def create_app(state_file: Path | None = None) -> SandboxApp:
    return SandboxApp(state_file=state_file)

"""The FastAPI application: state, middleware, error handlers and routers."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from sqlalchemy.exc import IntegrityError

from writeback import __version__
from writeback.api.auth import Authenticator
from writeback.api.body_limits import BodyLimits
from writeback.api.deps import AppState, ProjectCache
from writeback.api.fast_write import FastWritePath
from writeback.api.gate import AuthGate
from writeback.api.log_redaction import install_log_redaction
from writeback.api.problems import ApiProblem, install_handlers, problem_response
from writeback.api.request_id import RequestIdMiddleware
from writeback.api.routes import (
    api_keys,
    connections,
    installations,
    integrations,
    object_metadata,
    operations,
    projects,
    provider_apps,
    providers,
    webhooks,
    writes,
)
from writeback.api.scopes import RouteTable
from writeback.api.write_problems import problem_for
from writeback.control.object_metadata import ObjectMetadataService
from writeback.services import build_services, build_worker
from writeback.settings import Settings
from writeback.store.errors import StoreUnavailable
from writeback.writes.errors import WriteError

# The Write API first: routes are matched in order, and writes are the hot path.
ROUTERS = (
    writes,
    projects,
    api_keys,
    provider_apps,
    integrations,
    connections,
    installations,
    object_metadata,
    operations,
    providers,
    webhooks,
)


def _framework_options() -> dict[str, object]:
    # FastAPI's built-in OpenTelemetry hooks cost ~5% of a write even when unused; writeback
    # does its own request ids and logs. Older FastAPI versions have no such option.
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters:
        return {"telemetry": {"tracing": False, "metrics": False}}
    return {}


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await build_services(settings, migrate=migrate)
        app.state.writeback = AppState(
            settings=settings,
            engine=services.engine,
            sessions=services.sessions,
            box=services.box,
            auth=Authenticator(services.sessions, services.box, settings.admin_key),
            projects=ProjectCache(services.sessions),
            routes=route_table(),
            http=services.http,
            credentials=services.credentials,
            delivery=services.delivery,
            object_metadata=ObjectMetadataService(
                services.http, services.credentials, settings.sandbox_url
            ),
        )
        worker_task = None
        if settings.embedded_worker:
            worker = build_worker(services)
            app.state.worker = worker
            worker_task = asyncio.get_running_loop().create_task(worker.run_forever())
        try:
            yield
        finally:
            # uvicorn has finished the requests in flight; now the worker's calls
            if worker_task is not None:
                await app.state.worker.stop(settings.drain_seconds)
                worker_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await worker_task  # its failure, if any, was logged where it happened
                await app.state.worker.close()
            await services.close()

    app = FastAPI(
        title="writeback",
        version=__version__,
        summary="Write records into your customers' CRMs (Ampersand Write API compatible).",
        lifespan=lifespan,
        **_framework_options(),
    )
    install_handlers(app)
    app.state.settings = settings  # for asgi_app(): the edge limits wrap the fast path too

    @app.exception_handler(IntegrityError)
    async def _conflict(request: Request, exc: IntegrityError) -> Response:
        problem = ApiProblem(
            409,
            "The request conflicts with an existing record (a unique name or reference is taken,"
            " or a record it refers to was deleted).",
            remedy="Fetch the current state and retry with a different name or reference.",
        )
        return problem_response(problem, request)

    @app.exception_handler(WriteError)
    async def _write_error(request: Request, exc: WriteError) -> Response:
        return problem_response(problem_for(exc), request)

    @app.exception_handler(StoreUnavailable)
    async def _store_unavailable(request: Request, exc: StoreUnavailable) -> Response:
        return problem_response(problem_for(exc), request)

    app.add_middleware(AuthGate)  # keys and scopes, before any body is read (api/gate.py)
    install_log_redaction()  # ?apiKey= never reaches an access log
    app.add_middleware(RequestIdMiddleware)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    for module in ROUTERS:
        app.include_router(module.router, prefix="/v1")
    return app


def route_table() -> RouteTable:
    """Every API route with the scope it needs (api/scopes.py), in the order they match."""
    return RouteTable(
        (method, "/v1" + route.path)
        for module in ROUTERS
        for route in module.router.routes
        for method in sorted(getattr(route, "methods", None) or ())
    )


def asgi_app(app: FastAPI) -> BodyLimits:
    """What uvicorn serves: the body limits (api/body_limits.py) around the write fast path,
    in front of the FastAPI app."""
    return BodyLimits(FastWritePath(app), app.state.settings.max_body_bytes)

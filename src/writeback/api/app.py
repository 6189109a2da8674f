"""The FastAPI application: state, middleware, error handlers and routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from sqlalchemy.exc import IntegrityError

from writeback import __version__
from writeback.api.deps import AppState
from writeback.api.problems import ApiProblem, install_handlers, problem_response
from writeback.api.request_id import RequestIdMiddleware
from writeback.api.routes import (
    api_keys,
    connections,
    installations,
    integrations,
    operations,
    projects,
    provider_apps,
    providers,
    writes,
)
from writeback.connectors.credentials import CredentialStore
from writeback.connectors.http import ProviderHttp
from writeback.settings import Settings
from writeback.store.engine import create_engine, session_factory
from writeback.store.migrate import upgrade_to_head
from writeback.store.secrets import SecretBox
from writeback.writes.executor import WriteService

ROUTERS = (
    projects,
    api_keys,
    provider_apps,
    integrations,
    connections,
    installations,
    operations,
    providers,
    writes,
)


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        if migrate:
            await upgrade_to_head(engine)
        box = SecretBox.from_settings(settings)
        sessions = session_factory(engine)
        http = ProviderHttp()
        credentials = CredentialStore(sessions, box, http, settings.sandbox_url)
        app.state.writeback = AppState(
            settings=settings,
            engine=engine,
            sessions=sessions,
            box=box,
            admin_key_digest=box.digest(settings.admin_key) if settings.admin_key else None,
            http=http,
            credentials=credentials,
            writes=WriteService(sessions, http, credentials, settings.sandbox_url),
        )
        try:
            yield
        finally:
            await http.close()
            await engine.dispose()

    app = FastAPI(
        title="writeback",
        version=__version__,
        summary="Write records into your customers' CRMs (Ampersand Write API compatible).",
        lifespan=lifespan,
    )
    install_handlers(app)

    @app.exception_handler(IntegrityError)
    async def _conflict(request: Request, exc: IntegrityError) -> Response:
        problem = ApiProblem(
            409,
            "The request conflicts with an existing record (a unique name or reference is taken,"
            " or a record it refers to was deleted).",
            remedy="Fetch the current state and retry with a different name or reference.",
        )
        return problem_response(problem, request)

    app.add_middleware(RequestIdMiddleware)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    for module in ROUTERS:
        app.include_router(module.router, prefix="/v1")
    return app

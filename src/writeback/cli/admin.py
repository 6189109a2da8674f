"""Local administration: init, migrate, serve, demo (these talk to the database directly)."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer

from writeback.cli.http import CliError
from writeback.cli.output import console, emit_json
from writeback.control.key_scopes import FULL
from writeback.control.projects import (
    ProjectExistsError,
    ProjectNameError,
    create_api_key,
    create_project,
    find_project,
    has_admin_key,
)
from writeback.settings import Settings
from writeback.store.engine import (
    DatabaseUrlError,
    check_database_url,
    create_engine,
    session_factory,
)
from writeback.store.keyring import open_secret_box
from writeback.store.migrate import upgrade_to_head

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(migrate)
    app.command()(serve)


async def _migrate(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()


async def _prepare(settings: Settings, *, migrate: bool) -> None:
    """Once, before any process serves: migrations (when asked) and the keyring, so a wrong
    master key stops `serve` here with a message."""
    engine = create_engine(settings.database_url)
    try:
        if migrate:
            await upgrade_to_head(engine)
        await open_secret_box(settings, engine)
    finally:
        await engine.dispose()


def migrate() -> None:
    """Apply database migrations (serve does this at start too)."""
    settings = Settings.from_env()
    try:
        asyncio.run(_migrate(settings))
    except DatabaseUrlError as exc:
        raise CliError(str(exc)) from exc
    console.print(f"Database is up to date: {_safe_url(settings.database_url)}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


async def bootstrap(settings: Settings, project_name: str) -> dict[str, str]:
    """Create (or reuse) the project, a new API key for it, and an admin key if none exists."""
    engine = create_engine(settings.database_url)
    try:
        await upgrade_to_head(engine)
        box = await open_secret_box(settings, engine)
        async with session_factory(engine)() as session:
            project = await find_project(session, project_name)
            if project is None:
                project = await create_project(session, project_name)
            key = await create_api_key(  # every scope, `credentials` included
                session,
                box,
                project_id=project.id,
                label="created by writeback init",
                scopes=[FULL],
            )
            out = {"projectId": project.id, "projectName": project.name, "apiKey": key.secret}
            if not settings.admin_key and not await has_admin_key(session):
                admin = await create_api_key(
                    session, box, project_id=None, label="admin", scopes=["admin"], is_admin=True
                )
                out["adminKey"] = admin.secret
            await session.commit()
            return out
    finally:
        await engine.dispose()


def init(
    project: Annotated[str, typer.Option(help="Name of the project to create.")] = "default",
    as_json: JsonFlag = False,
) -> None:
    """Create the first project and an API key (and an admin key on first run)."""
    settings = Settings.from_env()
    try:
        made = asyncio.run(bootstrap(settings, project))
    except (ProjectNameError, ProjectExistsError, DatabaseUrlError) as exc:
        raise CliError(str(exc)) from exc
    if as_json:
        emit_json(made)
        return
    console.print(f"Project [bold]{made['projectName']}[/bold] ({made['projectId']})")
    console.print(f"API key (shown once, keep it secret): [bold]{made['apiKey']}[/bold]")
    if "adminKey" in made:
        console.print(f"Admin key (shown once): [bold]{made['adminKey']}[/bold]")


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    migrate_first: Annotated[bool, typer.Option("--migrate/--no-migrate")] = True,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Processes serving the API, each with its own caches; a dead one is restarted.",
        ),
    ] = 1,
    reuse_port: Annotated[
        bool, typer.Option(help="Bind with SO_REUSEPORT (set for you with --workers).")
    ] = False,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help="Run asynchronous writes in this process too [env WRITEBACK_EMBEDDED_WORKER].",
        ),
    ] = True,
) -> None:
    """Serve the HTTP API (applies migrations first) with an embedded worker."""
    from writeback.api.app import asgi_app, create_app
    from writeback.cli.serving import run_one, run_supervised

    settings = Settings.from_env()
    if not worker:
        settings = Settings.from_env(embedded_worker=False)
    check_database_url(settings.database_url)  # cli.main reports a bad one
    asyncio.run(_prepare(settings, migrate=migrate_first))

    if workers == 1:
        app = asgi_app(create_app(settings, migrate=False))
        run_one(app, host, port, log_level, reuse_port, settings.drain_seconds)
        return
    # several processes, supervised by uvicorn (a dead one is restarted)
    if not worker:  # the supervised processes read their settings from the environment
        os.environ["WRITEBACK_EMBEDDED_WORKER"] = "0"
    run_supervised(host, port, log_level, workers, settings.drain_seconds)

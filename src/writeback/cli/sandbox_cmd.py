"""`writeback sandbox`: the Salesforce and HubSpot emulators on one port."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("sandbox")(sandbox)


def sandbox(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8090,
    state: Annotated[
        Path | None,
        typer.Option(help="SQLite file that keeps tenants and records across restarts."),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Serve the Salesforce and HubSpot emulators (admin API under /_sandbox/)."""
    import uvicorn

    from writeback.cli.serving import tune_gc
    from writeback.sandbox.app import create_app

    tune_gc()  # the same collector settings as `serve`: fewer pauses with many records
    uvicorn.run(
        create_app(state_file=state), host=host, port=port, log_level=log_level, access_log=False
    )

"""The `writeback` command line (Typer + Rich)."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from writeback.cli import (
    admin,
    demo,
    manifest_cmds,
    resources,
    sandbox_cmd,
    secrets_cmd,
    worker_cmd,
)
from writeback.cli.http import CliError
from writeback.cli.output import errors
from writeback.settings import SettingsError
from writeback.store.engine import DatabaseUrlError
from writeback.store.secrets import SecretKeyError

app = typer.Typer(
    help="writeback: write records into your customers' CRMs through one HTTP API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
admin.register(app)
demo.register(app)
sandbox_cmd.register(app)
worker_cmd.register(app)
secrets_cmd.register(app)
manifest_cmds.register(app)
resources.register(app)


def main() -> None:
    try:
        app()
    except (CliError, SettingsError, SecretKeyError, DatabaseUrlError) as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        sys.exit(1)

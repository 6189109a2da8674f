"""Options shared by the commands that talk to a running server."""

from __future__ import annotations

from typing import Annotated

import typer

from writeback.cli.http import ApiClient

UrlOpt = Annotated[
    str | None, typer.Option("--url", help="writeback API base URL [env WRITEBACK_URL].")
]
KeyOpt = Annotated[str | None, typer.Option("--api-key", help="API key [env WRITEBACK_API_KEY].")]
ProjectOpt = Annotated[
    str, typer.Option("--project", "-p", help="Project id or name.", envvar="WRITEBACK_PROJECT")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def client(url: str | None, api_key: str | None) -> ApiClient:
    return ApiClient(url, api_key)

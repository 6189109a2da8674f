"""`writeback demo`: a server, a project, the example manifest deployed, all printed."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer

from writeback.cli.admin import bootstrap
from writeback.cli.http import ApiClient, CliError
from writeback.cli.output import console, emit
from writeback.settings import Settings


def register(app: typer.Typer) -> None:
    app.command()(demo)


def _free_port(preferred: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CliError(f"the server exited with code {process.returncode}; see output above")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise CliError(f"the server did not answer on {url} within {timeout:.0f}s")


def demo(
    manifest: Annotated[Path, typer.Option(help="Manifest to deploy.")] = Path("examples/amp.yaml"),
    port: Annotated[int, typer.Option(help="Port to serve on (a free one if taken).")] = 8080,
    home: Annotated[Path, typer.Option(help="Demo state directory (wiped first).")] = Path(
        ".writeback/demo"
    ),
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Keep serving after.")] = True,
) -> None:
    """Start a server on a fresh database, create a project, deploy the example manifest."""
    if not manifest.exists():
        raise CliError(f"{manifest}: no such file (run the demo from the repository root)")
    shutil.rmtree(home, ignore_errors=True)
    env = {**os.environ, "WRITEBACK_HOME": str(home)}
    env.pop("WRITEBACK_DATABASE_URL", None)  # the demo always runs on its own SQLite file
    settings = Settings(
        home=home, database_url=f"sqlite+aiosqlite:///{(home / 'writeback.db').resolve()}"
    )
    made = asyncio.run(bootstrap(settings, "demo"))
    port = _free_port(port)
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "writeback",
        "serve",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, env=env)
    try:
        _wait_ready(url, server)
        api = ApiClient(url, made["apiKey"])
        deployed = api.put(
            f"/projects/{made['projectId']}/integrations:batch",
            {"sourceYaml": manifest.read_text()},
        )
        console.rule("[bold]writeback demo")
        console.print(f"Server:   {url}  (API reference: {url}/docs)")
        console.print(f"Project:  {made['projectName']}  id {made['projectId']}")
        console.print(f"API key:  {made['apiKey']}")
        emit(
            deployed,
            False,
            [
                ("integration", "name"),
                ("id", "id"),
                ("provider", "provider"),
                ("revision", "latestRevision.id"),
            ],
            title=f"Deployed {manifest}",
        )
        for integration in deployed:
            objects = integration["latestRevision"]["content"].get("write", {}).get("objects", [])
            names = ", ".join(o["objectName"] for o in objects)
            console.print(f"  {integration['name']} writes: {names}")
        console.print("\nTry it:")
        console.print(
            f"  curl -s {url}/v1/projects/demo/integrations -H 'X-Api-Key: {made['apiKey']}'",
            highlight=False,
            soft_wrap=True,
        )
        if wait:
            console.print("\nServing; press Ctrl-C to stop.")
            server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()

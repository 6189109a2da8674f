"""`writeback demo`: sandbox + server on a fresh database, two customers, real writes."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from writeback.cli.admin import bootstrap
from writeback.cli.http import ApiClient, CliError
from writeback.cli.output import console, emit
from writeback.demo.scenario import pretty, run_examples, sandbox_records, set_up_customers
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


@contextmanager
def _process(name: str, args: list[str], env: dict[str, str], ready: str) -> Iterator[None]:
    process = subprocess.Popen([sys.executable, "-m", "writeback", *args], env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise CliError(f"the {name} exited with code {process.returncode}")
            try:
                if httpx.get(ready, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise CliError(f"the {name} did not answer on {ready} within 30s")
            time.sleep(0.1)
        yield
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _say(title: str, request: Any, answer: Any) -> None:
    console.rule(title, style="cyan")
    console.print("request:  " + pretty(request), highlight=False)
    console.print("answer:   " + pretty(answer), highlight=False)


def demo(
    manifest: Annotated[Path, typer.Option(help="Manifest to deploy.")] = Path("examples/amp.yaml"),
    port: Annotated[int, typer.Option(help="writeback port (a free one if taken).")] = 8080,
    sandbox_port: Annotated[int, typer.Option(help="Sandbox port (a free one if taken).")] = 8090,
    home: Annotated[Path, typer.Option(help="Demo state directory (wiped first).")] = Path(
        ".writeback/demo"
    ),
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Keep serving after.")] = True,
) -> None:
    """Run the sandbox and a server, set up a Salesforce and a HubSpot customer, write."""
    if not manifest.exists():
        raise CliError(f"{manifest}: no such file (run the demo from the repository root)")
    shutil.rmtree(home, ignore_errors=True)
    port, sandbox_port = _free_port(port), _free_port(sandbox_port)
    url, sandbox = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sandbox_port}"
    database = f"sqlite+aiosqlite:///{(home / 'writeback.db').resolve()}"
    made = asyncio.run(bootstrap(Settings(home=home, database_url=database), "demo"))
    env = {**os.environ, "WRITEBACK_HOME": str(home), "WRITEBACK_SANDBOX_URL": sandbox}
    env.pop("WRITEBACK_DATABASE_URL", None)  # the demo always runs on its own SQLite file
    with ExitStack() as stack:
        stack.enter_context(
            _process(
                "sandbox",
                ["sandbox", "--port", str(sandbox_port)],
                env,
                f"{sandbox}/_sandbox/health",
            )
        )
        stack.enter_context(
            _process(
                "server",
                ["serve", "--port", str(port), "--log-level", "warning"],
                env,
                f"{url}/healthz",
            )
        )
        api = ApiClient(url, made["apiKey"])
        customers = set_up_customers(api, made["projectId"], sandbox, manifest.read_text())
        console.rule("[bold]writeback demo")
        console.print(f"Server:   {url}  (API reference: {url}/docs)")
        console.print(f"Sandbox:  {sandbox}  (Salesforce + HubSpot emulators)")
        console.print(f"Project:  {made['projectName']}  id {made['projectId']}")
        console.print(f"API key:  {made['apiKey']}")
        emit(
            customers["integrations"],
            False,
            [("integration", "name"), ("id", "id"), ("provider", "provider")],
            title=f"Deployed {manifest}",
        )
        for integration in customers["integrations"]:
            objects = integration["latestRevision"]["content"].get("write", {}).get("objects", [])
            names = ", ".join(o["objectName"] for o in objects)
            console.print(f"  {integration['name']} writes: {names}")
        run_examples(api, made["projectId"], _say)
        console.rule("What the sandbox now holds", style="green")
        for provider, object_name, columns in (
            ("salesforce", "Contact", ["Id", "FirstName", "LastName", "Email"]),
            ("salesforce", "Account", ["Id", "Name"]),
            ("hubspot", "companies", ["id", "properties.name"]),
            ("hubspot", "contacts", ["id", "properties.firstname", "properties.email"]),
        ):
            records = sandbox_records(sandbox, customers[provider], object_name)
            emit(records, False, [(c, c) for c in columns], title=f"{provider} {object_name}")
        console.print("\nTry a write yourself:")
        console.print(
            f"  curl -s {url}/v1/projects/demo/integrations/write-to-salesforce/objects/contact"
            f" -H 'X-Api-Key: {made['apiKey']}' -H 'Content-Type: application/json'"
            """ -d '{"groupRef": "demo-group-id", "type": "create","""
            """ "record": {"LastName": "Lovegood"}}'""",
            highlight=False,
            soft_wrap=True,
        )
        if wait:
            console.print("\nServing; press Ctrl-C to stop.")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass

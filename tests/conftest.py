"""Shared fixtures: a real writeback server on loopback per database backend.

Store and API tests take the `server` fixture, which runs once on SQLite and once on
PostgreSQL (WRITEBACK_TEST_POSTGRES_URL, set by scripts/with-postgres.sh).
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from writeback.api.app import asgi_app, create_app
from writeback.sandbox.app import SandboxApp
from writeback.settings import Settings

BACKENDS = ["sqlite", "postgres"]


def postgres_url_or_skip() -> str:
    url = os.environ.get("WRITEBACK_TEST_POSTGRES_URL")
    if url:
        return url
    if os.environ.get("WRITEBACK_REQUIRE_POSTGRES") == "1":
        pytest.fail("WRITEBACK_REQUIRE_POSTGRES=1 but WRITEBACK_TEST_POSTGRES_URL is not set")
    pytest.skip("PostgreSQL is not installed here (run `make test`, which starts one if it can)")


def fresh_postgres_database(url: str, name: str) -> str:
    """A new, empty database on the test server, so each server fixture has its own."""
    import asyncio

    import asyncpg
    from sqlalchemy.engine import make_url

    async def run() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(run())
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def database_url(backend: str, home: Path, name: str) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{home / 'writeback.db'}"
    return fresh_postgres_database(postgres_url_or_skip(), name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """uvicorn serving an ASGI app on a free loopback port, in a background thread."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("writeback test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Server:
    backend: str
    url: str
    home: Path
    settings: Settings
    admin_key: str
    admin: httpx.Client
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, api_key: str | None) -> httpx.Client:
        headers = {"X-Api-Key": api_key} if api_key else {}
        made = httpx.Client(base_url=self.url + "/v1", headers=headers, timeout=30)
        self.clients.append(made)
        return made

    def new_project(
        self, prefix: str = "proj", scopes: list[str] | None = None
    ) -> tuple[dict[str, Any], httpx.Client]:
        """A fresh project and a client holding one of its API keys (with `scopes`, or the
        default ones: write, read, manage)."""
        name = f"{prefix}-{secrets.token_hex(4)}"
        response = self.admin.post("/projects", json={"name": name, "appName": name})
        assert response.status_code == 201, response.text
        project = response.json()
        body: dict[str, Any] = {"label": "test"}
        if scopes is not None:
            body["scopes"] = scopes
        key = self.admin.post(f"/projects/{project['id']}/api-keys", json=body)
        assert key.status_code == 201, key.text
        return project, self.client(key.json()["key"])


# Asynchronous machinery at test speed: a "minute" of maxDelayMinutes is half a second,
# retries start at 50 ms, the worker looks for work every 50 ms.
FAST_ASYNC = {
    "autobatch_minute_seconds": 0.5,
    "retry_base_seconds": 0.05,
    "retry_max_seconds": 0.5,
    "worker_poll_seconds": 0.05,
}


@contextmanager
def running_server(
    backend: str, home: Path, database: str, sandbox_url: str | None = None, **overrides: Any
) -> Iterator[Server]:
    """A writeback server on loopback; `overrides` are Settings fields (e.g. a short lease)."""
    admin_key = "wbadmin_" + secrets.token_urlsafe(24)
    settings = Settings(
        home=home,
        database_url=database_url(backend, home, database),
        secret_key=None,
        admin_key=admin_key,
        sandbox_url=sandbox_url,
        # test receivers listen on loopback: webhook targets there are allowed unless a test
        # (tests/webhooks/test_targets.py) turns the SSRF checks back on
        allow_private_webhook_targets=overrides.pop("allow_private_webhook_targets", True),
        **{**FAST_ASYNC, **overrides},  # type: ignore[arg-type]
    )
    with ServerThread(asgi_app(create_app(settings))) as running:
        admin = httpx.Client(
            base_url=running.url + "/v1", headers={"X-Api-Key": admin_key}, timeout=30
        )
        harness = Server(backend, running.url, home, settings, admin_key, admin)
        yield harness
        for made in [admin, *harness.clients]:
            made.close()


@pytest.fixture(scope="session", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """writeback with real provider URLs (nothing is written to providers)."""
    home = tmp_path_factory.mktemp(f"home-{request.param}")
    with running_server(request.param, home, "writeback_api") as harness:
        yield harness


@dataclass
class Sandbox:
    """A running `writeback sandbox` on loopback, and its admin API."""

    url: str
    app: SandboxApp
    admin: httpx.Client

    def new_tenant(self, provider: str, **options: Any) -> dict[str, Any]:
        response = self.admin.post("/_sandbox/tenants", json={"provider": provider, **options})
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    app = SandboxApp()
    with ServerThread(app) as running:
        admin = httpx.Client(base_url=running.url, timeout=30)
        yield Sandbox(running.url, app, admin)
        admin.close()


@contextmanager
def tuned_stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sandbox: Sandbox,
    name: str,
    **overrides: Any,
) -> Iterator[Server]:
    """For a fixture parametrized by BACKENDS: writeback in sandbox mode with its own
    database and `overrides` of the settings (a short lease, a small worker...)."""
    home = tmp_path_factory.mktemp(f"{name}-{request.param}")
    with running_server(
        request.param, home, f"writeback_{name}", sandbox.url, **overrides
    ) as harness:
        yield harness


@pytest.fixture(scope="session", params=BACKENDS)
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sandbox: Sandbox
) -> Iterator[Server]:
    """writeback in sandbox mode: every provider call goes to the `sandbox` fixture."""
    home = tmp_path_factory.mktemp(f"stack-{request.param}")
    with running_server(request.param, home, "writeback_stack", sandbox.url) as harness:
        yield harness

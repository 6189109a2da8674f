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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from writeback.api.app import create_app
from writeback.settings import Settings

BACKENDS = ["sqlite", "postgres"]


def postgres_url_or_skip() -> str:
    url = os.environ.get("WRITEBACK_TEST_POSTGRES_URL")
    if url:
        return url
    if os.environ.get("WRITEBACK_REQUIRE_POSTGRES") == "1":
        pytest.fail("WRITEBACK_REQUIRE_POSTGRES=1 but WRITEBACK_TEST_POSTGRES_URL is not set")
    pytest.skip("PostgreSQL is not installed here (run `make test`, which starts one if it can)")


def reset_postgres(url: str) -> None:
    """Empty the test database so each test session starts from a fresh migration."""
    import asyncio

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()

    asyncio.run(run())


def database_url(backend: str, home: Path) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{home / 'writeback.db'}"
    url = postgres_url_or_skip()
    reset_postgres(url)
    return url


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

    def new_project(self, prefix: str = "proj") -> tuple[dict[str, Any], httpx.Client]:
        """A fresh project and a client holding one of its API keys."""
        name = f"{prefix}-{secrets.token_hex(4)}"
        response = self.admin.post("/projects", json={"name": name, "appName": name})
        assert response.status_code == 201, response.text
        project = response.json()
        key = self.admin.post(f"/projects/{project['id']}/api-keys", json={"label": "test"})
        assert key.status_code == 201, key.text
        return project, self.client(key.json()["key"])


@pytest.fixture(scope="session", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    backend = request.param
    home = tmp_path_factory.mktemp(f"home-{backend}")
    admin_key = "wbadmin_" + secrets.token_urlsafe(24)
    settings = Settings(
        home=home,
        database_url=database_url(backend, home),
        secret_key=None,
        admin_key=admin_key,
    )
    with ServerThread(create_app(settings)) as running:
        admin = httpx.Client(
            base_url=running.url + "/v1", headers={"X-Api-Key": admin_key}, timeout=30
        )
        harness = Server(backend, running.url, home, settings, admin_key, admin)
        yield harness
        for made in [admin, *harness.clients]:
            made.close()

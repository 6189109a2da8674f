"""`--state FILE`: keep tenants, tokens and records in SQLite across restarts.

The registry lives in memory; a snapshot is written when it changed, at most once a second
and at shutdown, so a crash loses at most the last second.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from writeback.sandbox.faults import FaultConfig, FaultInjector
from writeback.sandbox.tenants import AccessToken, RefreshToken, Registry, Tenant

FLUSH_INTERVAL_SECONDS = 1.0


def snapshot(registry: Registry) -> dict[str, Any]:
    return {
        "tenants": [
            {
                "id": t.id,
                "provider": t.provider,
                "createdAt": t.created_at,
                "settings": t.settings,
                "faults": t.faults.config.to_json(),
                "clientId": t.client_id,
                "clientSecret": t.client_secret,
                "requests": dict(t.requests),
                "state": t.state.snapshot(),
            }
            for t in registry.tenants.values()
        ],
        "accessTokens": [vars(a) for a in registry.access_tokens.values()],
        "refreshTokens": [vars(r) for r in registry.refresh_tokens.values()],
    }


def restore(registry: Registry, data: dict[str, Any]) -> None:
    registry.reset()
    for item in data.get("tenants", []):
        kind = registry.kinds[item["provider"]]
        tenant = Tenant(
            id=item["id"],
            provider=item["provider"],
            created_at=item["createdAt"],
            settings={**kind.default_settings, **item["settings"]},
            faults=FaultInjector(FaultConfig.from_json(item["faults"])),
            client_id=item.get("clientId"),
            client_secret=item.get("clientSecret"),
            requests=Counter(item.get("requests", {})),
        )
        tenant.state = kind.restore_state(tenant, item["state"])
        registry.tenants[tenant.id] = tenant
    for access in data.get("accessTokens", []):
        registry.access_tokens[access["token"]] = AccessToken(**access)
    for refresh in data.get("refreshTokens", []):
        registry.refresh_tokens[refresh["token"]] = RefreshToken(**refresh)


class StateFile:
    def __init__(self, path: Path, registry: Registry) -> None:
        self.path = path
        self.registry = registry
        self._saved_version = -1
        self._task: asyncio.Task[None] | None = None

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path)
        conn.execute(
            "create table if not exists sandbox_state"
            " (id integer primary key check (id = 1), data blob not null, saved_at real not null)"
        )
        return conn

    def load(self) -> bool:
        with self._connect() as conn:
            row = conn.execute("select data from sandbox_state where id = 1").fetchone()
        if row is None:
            return False
        restore(self.registry, orjson.loads(row[0]))
        self._saved_version = self.registry.version
        return True

    def _write(self, blob: bytes) -> None:
        with self._connect() as conn:
            conn.execute(
                "insert into sandbox_state (id, data, saved_at) values (1, ?, ?)"
                " on conflict (id) do update"
                " set data = excluded.data, saved_at = excluded.saved_at",
                (blob, time.time()),
            )

    async def flush(self) -> None:
        version = self.registry.version
        if version == self._saved_version:
            return
        # Serialise on the event loop (a consistent view), write in a thread.
        blob = orjson.dumps(snapshot(self.registry))
        await asyncio.to_thread(self._write, blob)
        self._saved_version = version

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_SECONDS)
            await self.flush()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.flush()

"""Database engine and sessions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


class DatabaseUrlError(ValueError):
    pass


def check_database_url(url: str) -> None:
    try:
        driver = make_url(url).drivername
    except Exception as exc:
        raise DatabaseUrlError(f"WRITEBACK_DATABASE_URL is not a database URL: {exc}") from exc
    if driver not in SUPPORTED_DRIVERS:
        raise DatabaseUrlError(
            f"WRITEBACK_DATABASE_URL uses driver {driver!r}; use one of"
            f" {', '.join(SUPPORTED_DRIVERS)} (for example postgresql+asyncpg://user:pass@host/db)"
        )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run while one writer commits; the busy timeout waits out short locks
    # instead of failing; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _json_dumps(value: object) -> str:
    return orjson.dumps(value).decode()


# JSON columns go through orjson: operation metadata and logs are written on every write.
_JSON = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}


def create_engine(url: str) -> AsyncEngine:
    check_database_url(url)
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **_JSON)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, **_JSON)


def session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)

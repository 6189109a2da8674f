"""The write lock shared by every process using one SQLite database file (filelock's flock).

SQLite's own busy handler waits for its write lock by sleeping 1, 2, 5 … up to 100 ms
between tries, so two processes committing often starve each other in long sleeps. Taking
this lock first hands the database over within a couple of milliseconds of the other process
being done. The first attempt is a non-blocking flock on the event loop (no thread: the
common, uncontended case costs a few system calls); while another process holds it, it is
polled without blocking the loop, up to a timeout.
"""

from __future__ import annotations

from filelock import AsyncFileLock, Timeout
from sqlalchemy.ext.asyncio import AsyncEngine

from writeback.store.errors import StoreUnavailable

POLL_SECONDS = 0.002  # a commit takes about a millisecond: look again that often


class SqliteWriteLock:
    """An exclusive lock on `<database><suffix>`, across processes."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._lock = AsyncFileLock(
            path, timeout=timeout, mode=0o600, poll_interval=POLL_SECONDS, run_in_executor=False
        )

    async def __aenter__(self) -> None:
        try:
            await self._lock.acquire()
        except Timeout:
            raise StoreUnavailable(
                f"another process has held the SQLite write lock {self.path} for more than"
                f" {self.timeout:g}s: a writeback process is stuck, or another program holds the"
                " lock file; stop it, or move writeback to PostgreSQL for several writers",
                retry_after=self.timeout,
            ) from None

    async def __aexit__(self, *exc: object) -> None:
        await self._lock.release()


class NoLock:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


def sqlite_file_lock(
    engine: AsyncEngine, suffix: str, timeout: float = 30.0
) -> SqliteWriteLock | NoLock:
    """A lock shared by every process on the same SQLite file; no lock on PostgreSQL."""
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        return SqliteWriteLock(database + suffix, timeout)
    return NoLock()

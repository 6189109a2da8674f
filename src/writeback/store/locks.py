"""Locks shared by every process using one SQLite database file."""

from __future__ import annotations

import asyncio
import fcntl
import os

from sqlalchemy.ext.asyncio import AsyncEngine


class FileLock:
    """An exclusive lock on a file, shared by every process using one SQLite database.

    SQLite's own busy handler waits for its write lock by sleeping 1, 2, 5 … up to 100 ms
    between tries, so two processes committing often starve each other in long sleeps. Taking
    this lock first (flock in a thread, so the event loop keeps running) hands the database
    over as soon as the other process is done.
    """

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    async def __aenter__(self) -> None:
        try:  # uncontended (one process, or the other one idle): no thread needed
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        waiting = asyncio.ensure_future(asyncio.to_thread(fcntl.flock, self._fd, fcntl.LOCK_EX))
        try:
            await asyncio.shield(waiting)
        except asyncio.CancelledError:
            # the thread takes the lock anyway, later: give it back as soon as it does
            waiting.add_done_callback(lambda _: fcntl.flock(self._fd, fcntl.LOCK_UN))
            raise

    async def __aexit__(self, *exc: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)


class NoLock:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


def sqlite_file_lock(engine: AsyncEngine, suffix: str) -> FileLock | NoLock:
    """A lock shared by every process on the same SQLite file; no lock on PostgreSQL."""
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        return FileLock(database + suffix)
    return NoLock()

"""Group commit: many small units of work, one transaction.

Each unit is an async function of a connection. A single task runs every unit that has
gathered in one transaction and commits once; each caller is woken with its own result only
after the commit. On SQLite this also makes this process the only writer of its writes, so
they never wait on each other for the database lock. If the shared transaction fails, each unit
is retried alone, so one bad unit cannot fail the others.

Waiting is bounded: a caller that cannot get its unit committed within its timeout (the
database is down, locked, or the queue is full) gets `StoreUnavailable`. A unit that never
started is dropped; one that was already inside a transaction may still commit after its caller
gave up, so such a unit can name an `on_abandon` unit, which is committed afterwards to undo
what the caller will not follow up on (only when the first one did, or may have, committed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from writeback.store import deferred
from writeback.store.errors import StoreUnavailable, is_unavailable
from writeback.store.locks import sqlite_file_lock

T = TypeVar("T")
log = logging.getLogger("writeback.store")

Unit = Callable[[AsyncConnection], Awaitable[Any]]
MAX_UNITS_PER_COMMIT = 500


@dataclass
class _Entry:
    unit: Unit
    done: asyncio.Future[Any]
    on_abandon: Unit | None = None
    started: bool = False  # inside a transaction: may commit even if its caller gives up
    gave_up: bool = False  # its caller stopped waiting


class GroupCommitter:
    def __init__(
        self, engine: AsyncEngine, *, timeout: float = 10.0, max_pending: int = 10_000
    ) -> None:
        self._engine = engine
        self._lock = sqlite_file_lock(engine, ".writelock", timeout=timeout)
        self._pending: list[_Entry] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._conn: AsyncConnection | None = None  # kept between commits: no pool round trips
        self.timeout = timeout
        self.max_pending = max_pending

    # --- callers -----------------------------------------------------------------

    async def run(
        self,
        unit: Callable[[AsyncConnection], Awaitable[T]],
        *,
        timeout: float | Literal["default"] | None = "default",
        on_abandon: Unit | None = None,
    ) -> T:
        """Commit `unit` (with whatever else is waiting) and return its result (for a unit that
        answers a fenced change's Verdict: whether it held). Raises
        StoreUnavailable when the database cannot take it within `timeout` seconds (the
        committer's default; None waits as long as it takes)."""
        wait = self.timeout if timeout == "default" else timeout
        if wait is not None and len(self._pending) >= self.max_pending:
            raise StoreUnavailable(
                f"{len(self._pending)} database writes are already waiting", retry_after=2.0
            )
        entry = self._enqueue(unit, on_abandon)
        if wait is None:
            return await entry.done  # type: ignore[no-any-return]
        try:
            return await asyncio.wait_for(asyncio.shield(entry.done), wait)  # type: ignore[no-any-return]
        except TimeoutError:
            if entry.done.done() and entry.done.exception() is None:
                return entry.done.result()  # type: ignore[no-any-return]
            entry.gave_up = True  # started: the committer undoes it if it commits
            if not entry.started:  # never reached the database: drop it
                with contextlib.suppress(ValueError):
                    self._pending.remove(entry)
            raise StoreUnavailable(
                f"the database did not confirm within {wait:g}s", retry_after=wait
            ) from None

    async def run_until_done(
        self, unit: Callable[[AsyncConnection], Awaitable[T]], *, max_wait: float = 5.0
    ) -> T:
        """Commit `unit` however long the database is away: for records of things that already
        happened (a provider answered), which must not be lost. Retries with backoff while the
        database is unavailable; any other error is raised."""
        delay = 0.1
        while True:
            try:
                return await self.run(unit, timeout=None)
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                log.warning("database unavailable (%s); retrying in %.1fs", _short(exc), delay)
            await asyncio.sleep(delay)
            delay = min(max_wait, delay * 2)

    async def wait_or_leave(self, recording: Awaitable[Any]) -> None:
        """Wait for `recording` (a record that must be kept, e.g. `run_until_done`) up to the
        committer's timeout; then let it finish in the background, so that an answer already
        known is not held back by a database that is away."""
        task = asyncio.ensure_future(recording)
        done, _ = await asyncio.wait({task}, timeout=self.timeout)
        if done:
            task.result()
            return
        self._background.add(task)  # type: ignore[arg-type]
        task.add_done_callback(self._background.discard)  # type: ignore[arg-type]
        task.add_done_callback(_log_failure)

    def run_in_background(self, unit: Unit) -> None:
        """Commit `unit` eventually, retrying through outages; nobody waits for it."""
        task = asyncio.get_running_loop().create_task(self._until_done_quietly(unit))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _until_done_quietly(self, unit: Unit) -> None:
        try:
            await self.run_until_done(unit)
        except Exception:
            log.exception("a background database write failed")

    def _enqueue(self, unit: Unit, on_abandon: Unit | None) -> _Entry:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._loop())
        entry = _Entry(unit, loop.create_future(), on_abandon)
        self._pending.append(entry)
        self._wake.set()
        return entry

    # --- the committing task ------------------------------------------------------------

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._pending[:MAX_UNITS_PER_COMMIT]
                del self._pending[: len(batch)]
                try:
                    await self._commit(batch)
                except Exception:  # never let the loop die: every caller would hang
                    log.exception("group commit failed unexpectedly")
                    for entry in batch:
                        if not entry.done.done():
                            entry.done.set_exception(StoreUnavailable("internal error"))

    async def _commit(self, batch: list[_Entry]) -> None:
        batch = [e for e in batch if not (e.gave_up and not e.started)]
        if not batch:
            return
        for entry in batch:
            entry.started = True
        for fresh in (False, True):
            reused = self._conn is not None
            try:
                results = await self._transaction(batch)
                break
            except _CommitFailed as failed:
                await self._drop_connection()
                if reused and not fresh and not failed.committing and is_unavailable(failed.exc):
                    continue  # a kept connection the server closed (a restart): once more, anew
                for entry in self._failed(batch, failed.exc, maybe_committed=failed.committing):
                    await self._commit([entry])  # one unit broke the shared transaction
                return
        for entry, result in zip(batch, results, strict=True):
            if entry.gave_up:
                self._abandon(entry)
            elif not entry.done.done():
                entry.done.set_result(result)

    async def _transaction(self, batch: list[_Entry]) -> list[Any]:
        committing = False
        try:
            async with self._lock:
                if self._conn is None:
                    self._conn = await self._engine.connect()
                conn = self._conn
                transaction = await conn.begin()
                try:
                    if conn.dialect.name == "sqlite":
                        # take the write lock first: a transaction that reads and then writes
                        # would otherwise fail at once ("database is locked") whenever another
                        # process committed in between; BEGIN IMMEDIATE waits its turn instead
                        await conn.exec_driver_sql("BEGIN IMMEDIATE")
                    for key in deferred.KEYS:  # a failed commit may have left some behind
                        conn.info.pop(key, None)
                    results = [await entry.unit(conn) for entry in batch]
                    await deferred.flush(conn)
                    committing = True
                    await transaction.commit()
                except BaseException:
                    if not committing and transaction.is_active:
                        with contextlib.suppress(Exception):
                            await transaction.rollback()
                    raise
            return [_settled(result) for result in results]
        except Exception as exc:
            raise _CommitFailed(exc, committing) from exc

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()
            with contextlib.suppress(Exception):
                await conn.close()

    def _failed(
        self, batch: list[_Entry], exc: Exception, *, maybe_committed: bool
    ) -> list[_Entry]:
        """Settle the entries of a failed transaction; returns those to retry one by one."""
        if maybe_committed:
            # the commit itself failed: it may or may not have happened, so whoever will
            # not follow up on it undoes it (undo units are written to be harmless if not)
            for entry in batch:
                self._abandon(entry)
                if not entry.done.done():
                    entry.done.set_exception(
                        StoreUnavailable(f"the database did not confirm a commit: {_short(exc)}")
                    )
            return []
        live = [e for e in batch if not e.gave_up]  # rolled back: the others are simply gone
        if len(live) > 1 and not is_unavailable(exc):
            for entry in live:
                entry.started = False  # not in the database: a caller giving up drops it
            return live
        error: Exception = exc
        if is_unavailable(exc):
            error = StoreUnavailable(f"database unavailable: {_short(exc)}")
        for entry in live:
            if not entry.done.done():
                entry.done.set_exception(error)
        return []

    def _abandon(self, entry: _Entry) -> None:
        if entry.on_abandon is not None:
            self.run_in_background(entry.on_abandon)

    async def close(self) -> None:
        if self._pending:
            self._wake.set()
            await asyncio.gather(*(e.done for e in self._pending), return_exceptions=True)
        if self._background:
            await asyncio.wait(set(self._background), timeout=5)
        for task in [self._task, *self._background]:
            if task is not None:
                task.cancel()
        await self._drop_connection()


class _CommitFailed(Exception):
    def __init__(self, exc: Exception, committing: bool) -> None:
        super().__init__(str(exc))
        self.exc = exc
        self.committing = committing


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("a record kept in the background failed: %s", _short(task.exception()))


def _settled(result: Any) -> Any:
    """A unit may answer with a fenced change's verdict, known only after the flush."""
    return result.held if isinstance(result, deferred.Verdict) else result


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return text[:200]

"""The SQLite write lock against another real process holding the lock file."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from writeback.store.engine import create_engine
from writeback.store.errors import StoreUnavailable
from writeback.store.locks import NoLock, SqliteWriteLock, sqlite_file_lock

HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.readline()  # hold it until told to let go
"""


@contextmanager
def held_by_another_process(path: Path) -> Iterator[subprocess.Popen[str]]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    try:
        yield holder
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()


def test_uncontended_lock_is_taken_and_given_back(tmp_path: Path) -> None:
    lock = SqliteWriteLock(str(tmp_path / "db.writelock"), timeout=5)

    async def twice() -> None:
        async with lock:
            pass
        async with lock:  # given back: taken again at once
            pass

    asyncio.run(twice())
    assert (tmp_path / "db.writelock").stat().st_mode & 0o777 == 0o600


def test_waits_for_the_other_process_and_gets_the_lock_when_it_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "db.writelock"
    lock = SqliteWriteLock(str(path), timeout=60)

    async def take_after_release(holder: subprocess.Popen[str]) -> None:
        taking = asyncio.ensure_future(lock.__aenter__())
        await asyncio.sleep(0.2)
        assert not taking.done()  # the other process holds it
        assert holder.stdin is not None
        holder.stdin.write("go\n")
        holder.stdin.flush()
        await asyncio.wait_for(taking, 30)
        await lock.__aexit__(None, None, None)

    with held_by_another_process(path) as holder:
        asyncio.run(take_after_release(holder))


def test_a_lock_held_too_long_is_a_store_unavailable_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "db.writelock"
    lock = SqliteWriteLock(str(path), timeout=0.3)

    async def take() -> None:
        async with lock:
            pass

    with held_by_another_process(path), pytest.raises(StoreUnavailable) as unavailable:
        asyncio.run(take())
    message = str(unavailable.value)
    assert str(path) in message and "for more than 0.3s" in message
    assert "another program holds the lock file" in message


def test_a_cancelled_wait_leaves_the_lock_free(tmp_path: Path) -> None:
    path = tmp_path / "db.writelock"
    lock = SqliteWriteLock(str(path), timeout=60)

    async def cancel_then_take(holder: subprocess.Popen[str]) -> None:
        waiting = asyncio.ensure_future(lock.__aenter__())
        await asyncio.sleep(0.1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert holder.stdin is not None
        holder.stdin.write("go\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
        async with lock:  # nothing was left holding it
            pass

    with held_by_another_process(path) as holder:
        asyncio.run(cancel_then_take(holder))


def test_only_sqlite_files_get_a_lock(tmp_path: Path) -> None:
    on_file = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    in_memory = create_engine("sqlite+aiosqlite://")
    postgres = create_engine("postgresql+asyncpg://u:p@127.0.0.1:1/db")
    assert isinstance(sqlite_file_lock(on_file, ".writelock"), SqliteWriteLock)
    assert isinstance(sqlite_file_lock(in_memory, ".writelock"), NoLock)
    assert isinstance(sqlite_file_lock(postgres, ".writelock"), NoLock)

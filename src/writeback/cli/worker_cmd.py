"""`writeback worker`: run asynchronous writes, auto-batches and webhooks as its own process."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import typer

from writeback.cli.output import console
from writeback.settings import Settings
from writeback.store.engine import check_database_url


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)


async def _run(settings: Settings) -> None:
    from writeback.services import build_services, build_worker

    services = await build_services(settings)  # refuses a wrong master key before any work
    worker = build_worker(services)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    task = loop.create_task(worker.run_forever())
    console.print(f"worker {worker.owner} running; Ctrl-C stops it")
    await stop.wait()
    # stop claiming, let calls in flight finish, give back every claim still held at once
    await worker.stop(settings.drain_seconds)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await worker.close()
    await services.close()


def worker() -> None:
    """Run a worker (start as many as you like against one PostgreSQL database)."""
    settings = Settings.from_env()
    check_database_url(settings.database_url)  # cli.main reports a bad one
    if settings.is_sqlite:
        console.print(
            "note: on SQLite, `writeback serve` already runs a worker; extra worker processes"
            " share one database file and its single writer lock",
            style="yellow",
        )
    asyncio.run(_run(settings))

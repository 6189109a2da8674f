"""Serving the API from one process, or from several supervised by uvicorn.

With `--workers N`, uvicorn's process manager starts N serving processes, restarts one that
dies (or hangs), and on SIGTERM stops them all, each draining its requests and its embedded
worker. Each process binds the port itself with SO_REUSEPORT, so the kernel spreads
connections across them evenly (sharing one listening socket, uvicorn's default, lets the first
process to wake accept a whole burst of keep-alive connections, leaving the others idle).
"""

from __future__ import annotations

from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from writeback.cli.http import CliError
from writeback.served import APP_FACTORY, ReusePortSockets, reuse_port_socket, tune_gc

# a process that does not answer the supervisor's ping this long is killed and restarted; a
# start on a busy machine (imports, migrations checked) must fit in it
HEALTHCHECK_SECONDS = 30


def _config(
    app: Any, host: str, port: int, log_level: str, drain_seconds: float, **more: Any
) -> uvicorn.Config:
    # no proxy-header rewriting: writeback does not trust X-Forwarded-* unless told to.
    # On SIGTERM uvicorn stops accepting, lets requests in flight finish (bounded), then the
    # app's shutdown drains the embedded worker.
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=max(1, int(drain_seconds)),
        **more,
    )


def run_one(
    app: Any, host: str, port: int, log_level: str, reuse_port: bool, drain_seconds: float = 25.0
) -> None:
    tune_gc()
    server = uvicorn.Server(_config(app, host, port, log_level, drain_seconds))
    if reuse_port:
        server.run(sockets=[reuse_port_socket(host, port)])
    else:
        server.run()


def run_supervised(
    host: str, port: int, log_level: str, workers: int, drain_seconds: float = 25.0
) -> None:
    """`workers` processes serving `writeback.served:served_app`, restarted when they die,
    until SIGTERM or SIGINT. Settings reach the processes through the environment."""
    try:  # the port is usable: fail here, not in every process the supervisor restarts
        reuse_port_socket(host, port).close()
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    config = _config(
        APP_FACTORY,
        host,
        port,
        log_level,
        drain_seconds,
        factory=True,
        workers=workers,
        timeout_worker_healthcheck=HEALTHCHECK_SECONDS,
    )
    Multiprocess(config, sockets=ReusePortSockets(host, port)).run()

"""Serving the API from one or several processes.

Several processes each bind the port with SO_REUSEPORT, so the kernel spreads connections
across them evenly. (Sharing one listening socket, as uvicorn's own workers do, lets the first
process to wake accept a whole burst of keep-alive connections, leaving the others idle.)
"""

from __future__ import annotations

import gc
import signal
import socket
import subprocess
import sys
from typing import Any

import uvicorn


def reuse_port_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def tune_gc() -> None:
    """Fewer, cheaper garbage collections: a write allocates many short-lived objects, and
    the default thresholds run a collection every 700 allocations. Objects alive at start-up
    (modules, the app) are frozen out of every collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def run_one(
    app: Any, host: str, port: int, log_level: str, reuse_port: bool, drain_seconds: float = 25.0
) -> None:
    tune_gc()
    # no proxy-header rewriting: writeback does not trust X-Forwarded-* unless told to.
    # On SIGTERM uvicorn stops accepting, lets requests in flight finish (bounded), then the
    # app's shutdown drains the embedded worker.
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=max(1, int(drain_seconds)),
    )
    server = uvicorn.Server(config)
    if reuse_port:
        server.run(sockets=[reuse_port_socket(host, port)])
    else:
        server.run()


def run_many(args: list[str], workers: int, run_here: Any) -> None:
    """Start `workers - 1` copies of this command as children, serve in this process too,
    and stop the children when this process stops."""
    children = [
        subprocess.Popen([sys.executable, "-m", "writeback", *args]) for _ in range(workers - 1)
    ]

    def stop_children() -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()

    def on_signal(signum: int, _frame: object) -> None:
        # uvicorn shuts this process's server down, then re-raises the signal: take the
        # children down with it before exiting.
        stop_children()
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        run_here()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stop_children()

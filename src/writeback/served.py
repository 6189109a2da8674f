"""What each process started by `serve --workers N` runs: its own socket and its app.

uvicorn's supervisor starts each process fresh (spawn) and unpickles what it is handed, so
this module stays light: it must be imported, and the process must answer the supervisor's
health checks, before the heavy application modules load.
"""

from __future__ import annotations

import gc
import socket
from typing import Any

# the factory every supervised process builds its app with (settings from the environment)
APP_FACTORY = "writeback.served:served_app"


def reuse_port_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _bind_in_child(host: str, port: int) -> list[socket.socket]:
    return [reuse_port_socket(host, port)]


class ReusePortSockets(list):  # type: ignore[type-arg]
    """What the supervisor hands each process it starts: instead of a socket, a recipe that
    binds a socket of the process's own (SO_REUSEPORT) when the process unpickles it, so the
    kernel spreads connections over the processes."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__()
        self.host, self.port = host, port

    def __reduce__(self) -> tuple[Any, tuple[str, int]]:
        return _bind_in_child, (self.host, self.port)


def tune_gc() -> None:
    """Fewer, cheaper garbage collections: a write allocates many short-lived objects, and
    the default thresholds run a collection every 700 allocations. Objects alive at start-up
    (modules, the app) are frozen out of every collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def served_app() -> Any:
    """The app of one supervised process (uvicorn imports and calls this in each)."""
    from writeback.api.app import asgi_app, create_app
    from writeback.settings import Settings

    app = asgi_app(create_app(Settings.from_env(), migrate=False))
    tune_gc()
    return app

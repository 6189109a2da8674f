"""`writeback serve --workers N` as a real process tree: uvicorn supervises the serving
processes, a killed one is replaced, requests keep being served, SIGTERM stops everything."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from conftest import free_port

ADMIN_KEY = "admin-key-x"
STARTUP_SECONDS = 120  # generous: two processes import and start on a shared, busy machine


def serving_children(parent: int) -> set[int]:
    """The supervisor's serving processes (not multiprocessing's resource tracker)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"spawn_main" in cmdline:
            found.add(int(entry.name))
    return found


def answers(port: int) -> bool:
    """One authenticated API request on a fresh connection (the kernel picks the process)."""
    try:
        with httpx.Client(timeout=10) as client:
            response = client.get(
                f"http://127.0.0.1:{port}/v1/projects", headers={"X-Api-Key": ADMIN_KEY}
            )
    except httpx.TransportError:
        return False
    assert response.status_code == 200, response.text
    return True


def wait_for(condition, what: str, seconds: float = STARTUP_SECONDS) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {seconds}s"
        time.sleep(0.2)


@contextmanager
def serve_with_workers(home: Path, workers: int) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    env = {**os.environ, "WRITEBACK_HOME": str(home), "WRITEBACK_ADMIN_KEY": ADMIN_KEY}
    env.pop("WRITEBACK_DATABASE_URL", None)
    command = ["serve", "--port", str(port), "--workers", str(workers), "--log-level", "info"]
    log = (home / "serve.log").open("w")  # read it when a test fails
    server = subprocess.Popen(
        [sys.executable, "-m", "writeback", *command],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield server, port
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        log.close()


def test_a_killed_serving_process_is_replaced_and_requests_keep_being_served(
    tmp_path: Path,
) -> None:
    with serve_with_workers(tmp_path, 2) as (server, port):
        wait_for(lambda: len(serving_children(server.pid)) == 2, "two serving processes")
        wait_for(lambda: answers(port), "the API answering")
        first = serving_children(server.pid)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        survivor = first - {victim}

        def replaced() -> bool:
            now = serving_children(server.pid)
            return victim not in now and len(now) == 2 and survivor < now

        wait_for(replaced, "a new serving process in place of the killed one")
        (newcomer,) = serving_children(server.pid) - survivor
        # the newcomer starts up and the port keeps answering throughout
        for _ in range(20):
            wait_for(lambda: answers(port), "the API answering after the restart")
        assert server.poll() is None
        assert newcomer in serving_children(server.pid)  # it stayed up: it started cleanly
        children = serving_children(server.pid)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    for pid in children:  # each was stopped and reaped before the supervisor exited
        assert not Path(f"/proc/{pid}").exists(), "a serving process outlived serve"


def test_serve_with_a_port_already_taken_is_an_error_not_a_restart_loop(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "WRITEBACK_HOME": str(tmp_path)}
        env.pop("WRITEBACK_DATABASE_URL", None)
        result = subprocess.run(
            [sys.executable, "-m", "writeback", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr
    assert "Traceback" not in result.stderr

"""Throughput and CPU per write of synchronous creates, for several source trees, alternating.

Made to measure one change (issue 9: outbound HTTP on aiohttp instead of writeback's own
client) against the code before it, and used for the whole of issue 9 too (`--latency-ms`:
every sandbox answer delayed, as a real provider's would be), on a shared, noisy machine:
each round runs every tree once, in turn, so a burst of load elsewhere hits both sides alike.
A run is write_sync.py's setup (the sandbox and `writeback serve --workers 1` on SQLite,
wrk -c32 through writeback) with the serve process tree's CPU time read from /proc around the
wrk run.

    git worktree add /tmp/wb-base <before>
    .venv/bin/python benchmarks/outbound_http.py --tree before=/tmp/wb-base/src --tree after=src

Each tree's processes run with PYTHONPATH=<tree>; the module file each imported is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from common import free_port, machine, process, wrk
from writeback.cli.http import ApiClient
from writeback.demo.scenario import set_up_customers

MANIFEST = Path(__file__).resolve().parents[1] / "examples" / "amp.yaml"
PATH = "/v1/projects/bench/integrations/write-to-salesforce/objects/account"
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    tree: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    serve_cpu_ms: float  # per completed write
    sandbox_cpu_ms: float


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def tree_of(needle: str) -> list[int]:
    """The processes whose command line holds `needle`, and all their descendants."""
    parents: dict[int, int] = {}
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        parents[int(entry.name)] = int(stat[1])
        if needle in cmdline and "outbound_http" not in cmdline:
            found.add(int(entry.name))
    grew = True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in found} - found
        found |= more
        grew = bool(more)
    return sorted(found)


def imported_from(src: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", "import writeback.connectors.http as m; print(m.__file__)"],
        env={**os.environ, "PYTHONPATH": src},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def slow_down(sandbox: str, latency_ms: float, jitter_ms: float) -> None:
    """Every tenant of the sandbox answers `latency_ms` (+ up to `jitter_ms`) later."""
    for tenant in httpx.get(f"{sandbox}/_sandbox/tenants").json():
        httpx.patch(
            f"{sandbox}/_sandbox/tenants/{tenant['tenantId']}/faults",
            json={"latencyMs": latency_ms, "latencyJitterMs": jitter_ms},
        ).raise_for_status()


def one_run(
    tree: str, src: str, seconds: int, connections: int, latency: tuple[float, float]
) -> Run:
    sandbox_port, port = free_port(), free_port()
    sandbox, url = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{port}"
    home = Path(tempfile.mkdtemp(prefix="wb-http-bench-"))
    env = {"WRITEBACK_HOME": str(home), "WRITEBACK_SANDBOX_URL": sandbox, "PYTHONPATH": src}
    init = subprocess.run(
        [sys.executable, "-m", "writeback", "init", "--json", "--project", "bench"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    made = json.loads(init.stdout)
    serve = ["serve", "--port", str(port), "--log-level", "warning", "--workers", "1"]
    with (
        process(["sandbox", "--port", str(sandbox_port)], f"{sandbox}/_sandbox/health", env),
        process(serve, f"{url}/healthz", env),
    ):
        api = ApiClient(url, made["apiKey"])
        set_up_customers(api, made["projectId"], sandbox, MANIFEST.read_text())
        slow_down(sandbox, *latency)
        serving, sandboxing = tree_of(f"--port {port}"), tree_of(f"--port {sandbox_port}")
        before = cpu_seconds(serving), cpu_seconds(sandboxing)
        body = json.dumps(
            {
                "groupRef": "demo-group-id",
                "type": "create",
                "record": {"companyName": "Bench Co", "Industry": "Technology"},
            }
        )
        through = wrk(
            url + PATH,
            method="POST",
            body=body,
            headers={"X-Api-Key": made["apiKey"], "Content-Type": "application/json"},
            seconds=seconds,
            connections=connections,
        )
        after = cpu_seconds(serving), cpu_seconds(sandboxing)
    writes = max(through.requests, 1)
    return Run(
        tree,
        through.rps,
        through.p50_ms,
        through.p99_ms,
        through.errors + through.non_2xx,
        (after[0] - before[0]) * 1000 / writes,
        (after[1] - before[1]) * 1000 / writes,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tree", action="append", required=True, help="label=path/to/src")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="sandbox answer delay")
    parser.add_argument("--jitter-ms", type=float, default=0.0, help="plus up to this much")
    args = parser.parse_args()
    trees = [tuple(item.split("=", 1)) for item in args.tree]
    for label, src in trees:
        print(f"{label}: {imported_from(os.path.abspath(src))}", flush=True)
    runs: list[Run] = []
    for number in range(args.rounds):
        order = trees if number % 2 == 0 else trees[::-1]
        for label, src in order:
            run = one_run(
                label,
                os.path.abspath(src),
                args.seconds,
                args.connections,
                (args.latency_ms, args.jitter_ms),
            )
            runs.append(run)
            print(
                f"round {number + 1} {label}: {run.rps:,.0f} req/s, p50 {run.p50_ms:.1f} ms,"
                f" p99 {run.p99_ms:.1f} ms, errors {run.errors}, serve CPU"
                f" {run.serve_cpu_ms:.3f} ms/write, sandbox CPU {run.sandbox_cpu_ms:.3f}"
                " ms/write",
                flush=True,
            )
    print(
        f"\n{machine()}, {args.rounds} rounds of {args.seconds}s, wrk -c{args.connections},"
        f" provider latency {args.latency_ms:g} ms + up to {args.jitter_ms:g} ms"
    )
    print("| tree | req/s median (min to max) | serve CPU ms/write median (min to max) |")
    print("|---|---|---|")
    medians: dict[str, tuple[float, float]] = {}
    for label, _ in trees:
        mine = [run for run in runs if run.tree == label]
        rps = [run.rps for run in mine]
        cpu = [run.serve_cpu_ms for run in mine]
        medians[label] = statistics.median(rps), statistics.median(cpu)
        print(
            f"| {label} | {medians[label][0]:,.0f} ({min(rps):,.0f} to {max(rps):,.0f}) |"
            f" {medians[label][1]:.3f} ({min(cpu):.3f} to {max(cpu):.3f}) |"
        )
    first = trees[0][0]
    for label, _ in trees[1:]:
        print(
            f"{label} / {first}: throughput {medians[label][0] / medians[first][0]:.2f},"
            f" CPU per write {medians[label][1] / medians[first][1]:.2f}"
        )


if __name__ == "__main__":
    main()

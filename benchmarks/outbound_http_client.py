"""The outbound client alone: CPU per provider call of `ProviderHttp.request`, per source tree.

A raw asyncio server in its own process answers every request at once (201 and a small JSON
body, keep-alive); the measured process sends `--calls` POSTs with a JSON body, `--concurrency`
at a time, and reports its own CPU time per call. Trees alternate, round after round.

    .venv/bin/python benchmarks/outbound_http_client.py --tree before=/tmp/wb-base/src \\
        --tree after=src
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from common import free_port

SERVER = r"""
import asyncio, sys

BODY = b'{"id":"001000000000001AAA","success":true,"errors":[]}'
HEAD = b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
REPLY = HEAD % len(BODY) + BODY

class Answer(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buffer = transport, b""
    def data_received(self, data):
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self.buffer[:end].split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length:]
            self.transport.write(REPLY)

async def main():
    server = await asyncio.get_running_loop().create_server(Answer, "127.0.0.1", int(sys.argv[1]))
    print("ready", flush=True)
    await server.serve_forever()

asyncio.run(main())
"""

CLIENT = r"""
import asyncio, sys, time
import writeback.connectors.http as module
from writeback.connectors.http import ProviderHttp

url, calls, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
RECORD = {"Name": "Bench Co", "Industry": "Technology"}

async def main():
    http = ProviderHttp()
    left = calls

    async def worker():
        nonlocal left
        while left > 0:
            left -= 1
            answer = await http.request("POST", url, token="t0k3n", json=RECORD)
            assert answer.status == 201 and answer.json()["success"]

    await asyncio.gather(*(worker() for _ in range(concurrency)))  # warm up the pool
    left = calls
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await http.close()
    print(module.__file__, cpu / calls * 1e6, calls / wall)

asyncio.run(main())
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tree", action="append", required=True, help="label=path/to/src")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    trees = [tuple(item.split("=", 1)) for item in args.tree]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        url = f"http://127.0.0.1:{port}/services/data/v62.0/sobjects/Account/"
        cpu: dict[str, list[float]] = {label: [] for label, _ in trees}
        rate: dict[str, list[float]] = {label: [] for label, _ in trees}
        for number in range(args.rounds):
            for label, src in trees if number % 2 == 0 else trees[::-1]:
                out = subprocess.run(
                    [sys.executable, "-c", CLIENT, url, str(args.calls), str(args.concurrency)],
                    env={**os.environ, "PYTHONPATH": os.path.abspath(src)},
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.split()
                cpu[label].append(float(out[1]))
                rate[label].append(float(out[2]))
                print(
                    f"round {number + 1} {label} ({out[0]}): {float(out[1]):.1f} µs CPU/call,"
                    f" {float(out[2]):,.0f} calls/s",
                    flush=True,
                )
                time.sleep(0.5)
    finally:
        server.terminate()
        server.wait()
    print("| tree | client CPU µs/call median (min to max) | calls/s median (min to max) |")
    print("|---|---|---|")
    for label, _ in trees:
        print(
            f"| {label} | {statistics.median(cpu[label]):.1f} ({min(cpu[label]):.1f} to"
            f" {max(cpu[label]):.1f}) | {statistics.median(rate[label]):,.0f}"
            f" ({min(rate[label]):,.0f} to {max(rate[label]):,.0f}) |"
        )
    first = trees[0][0]
    for label, _ in trees[1:]:
        ratio = statistics.median(cpu[label]) / statistics.median(cpu[first])
        print(f"{label} / {first}: CPU per call {ratio:.2f}")


if __name__ == "__main__":
    main()

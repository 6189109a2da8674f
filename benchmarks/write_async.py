"""Asynchronous writes: accept throughput, auto-batching's provider calls, batches vs one by one.

    .venv/bin/python benchmarks/write_async.py [--seconds 10] [--records 10000]

The sandbox, `writeback serve --no-worker` and `writeback worker` run as separate processes.
A "minute" of maxDelayMinutes is set to one second (WRITEBACK_AUTOBATCH_MINUTE_SECONDS=1)
so the last, partial auto-batch does not keep the run waiting a real minute.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce

from common import free_port, machine, process, write_section, wrk
from writeback.cli.http import ApiClient
from writeback.demo.scenario import set_up_customers

COMMAND = ".venv/bin/python benchmarks/write_async.py"
MANIFEST = Path(__file__).resolve().parents[1] / "examples" / "amp.yaml"
PATH = "/v1/projects/bench/integrations/write-to-salesforce/objects/account"


def stats(sandbox: str, tenant: dict[str, Any]) -> dict[str, int]:
    return dict(
        httpx.get(f"{sandbox}/_sandbox/tenants/{tenant['tenantId']}/stats").json()["byEndpoint"]
    )


def accounts(sandbox: str, tenant: dict[str, Any]) -> int:
    info = httpx.get(f"{sandbox}/_sandbox/tenants/{tenant['tenantId']}").json()
    return int(info["objects"].get("Account", 0))


def wait_for_accounts(sandbox: str, tenant: dict[str, Any], count: int, timeout: float) -> float:
    """Until at least `count` accounts exist and no more arrive (requests wrk did not count,
    in flight when it stopped, were accepted too: the queue must be empty before measuring on)."""
    started = time.monotonic()
    seen, still_since = -1, time.monotonic()
    while True:
        now_count = accounts(sandbox, tenant)
        if now_count != seen:
            seen, still_since = now_count, time.monotonic()
        if now_count >= count and time.monotonic() - still_since >= 1.5:
            return still_since - started
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"only {now_count} of {count} accounts arrived")
        time.sleep(0.1)


async def post_all(url: str, key: str, bodies: list[dict[str, Any]], concurrency: int) -> None:
    queue = list(reversed(bodies))
    async with httpx.AsyncClient(base_url=url, headers={"X-Api-Key": key}, timeout=60) as client:

        async def runner() -> None:
            while queue:
                body = queue.pop()
                response = await client.post(PATH, json=body)
                if response.status_code != 200:
                    raise RuntimeError(response.text)

        await asyncio.gather(*(runner() for _ in range(concurrency)))


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


class HttpsToHttp(HTTPAdapter):
    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        request.url = request.url.replace("https://", "http://", 1)
        return super().send(request, **kwargs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--records", type=int, default=10_000)
    args = parser.parse_args()
    sandbox_port, port = free_port(), free_port()
    sandbox, url = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{port}"
    env = {
        "WRITEBACK_HOME": tempfile.mkdtemp(prefix="wb-bench-"),
        "WRITEBACK_SANDBOX_URL": sandbox,
        "WRITEBACK_AUTOBATCH_MINUTE_SECONDS": "1",
    }
    made = json.loads(
        subprocess.run(
            [sys.executable, "-m", "writeback", "init", "--json", "--project", "bench"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    key, n = made["apiKey"], args.records
    headers = {"X-Api-Key": key, "Content-Type": "application/json"}
    async_body = json.dumps(
        {
            "groupRef": "demo-group-id",
            "type": "create",
            "mode": "asynchronous",
            "record": {"companyName": "Async"},
        }
    )
    serve = ["serve", "--port", str(port), "--log-level", "warning", "--no-worker"]
    with (
        process(["sandbox", "--port", str(sandbox_port)], f"{sandbox}/_sandbox/health", env),
        process(serve, f"{url}/healthz", env),
    ):
        customers = set_up_customers(
            ApiClient(url, key), made["projectId"], sandbox, MANIFEST.read_text()
        )
        tenant = customers["salesforce"]
        token = tenant["accessToken"]
        direct = wrk(
            f"{sandbox}/services/data/v62.0/sobjects/Account/",
            method="POST",
            body=json.dumps({"Name": "Direct"}),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            seconds=args.seconds,
        )
        # 1a. accepting alone: the API process has no worker and none runs yet
        base = accounts(sandbox, tenant)
        accept_only = wrk(
            url + PATH, method="POST", body=async_body, headers=headers, seconds=args.seconds
        )
        with process(["worker"], f"{url}/healthz", env):
            worker_drain = wait_for_accounts(
                sandbox, tenant, base + accept_only.requests, timeout=600
            )
            # 1b. accepting while a `writeback worker` process writes what comes in
            base = accounts(sandbox, tenant)
            accepted = wrk(
                url + PATH, method="POST", body=async_body, headers=headers, seconds=args.seconds
            )
            drain = wait_for_accounts(sandbox, tenant, base + accepted.requests, timeout=600)
            # 2. auto-batching: single writes, provider calls per record
            before, base = stats(sandbox, tenant), accounts(sandbox, tenant)
            bodies = [
                {
                    "groupRef": "demo-group-id",
                    "type": "create",
                    "mode": "asynchronous",
                    "autoBatchPolicy": {"maxDelayMinutes": 1},
                    "record": {"companyName": f"auto {i}"},
                }
                for i in range(n)
            ]
            started = time.monotonic()
            asyncio.run(post_all(url, key, bodies, 32))
            wait_for_accounts(sandbox, tenant, base + n, timeout=600)
            auto_seconds = time.monotonic() - started
            auto_calls = delta(stats(sandbox, tenant), before)
            # 3. the same number of records as asynchronous batches of 100 ...
            before, base = stats(sandbox, tenant), accounts(sandbox, tenant)
            batches = [
                {
                    "groupRef": "demo-group-id",
                    "type": "create",
                    "mode": "asynchronous",
                    "batch": [{"record": {"companyName": f"batch {b}-{i}"}} for i in range(100)],
                }
                for b in range(n // 100)
            ]
            started = time.monotonic()
            asyncio.run(post_all(url, key, batches, 8))
            wait_for_accounts(sandbox, tenant, base + n, timeout=600)
            batch_seconds = time.monotonic() - started
            batch_calls = delta(stats(sandbox, tenant), before)
            # ... and one by one with simple-salesforce, straight to the sandbox
            session = requests.Session()
            session.trust_env = False
            session.mount(sandbox.replace("http://", "https://"), HttpsToHttp())
            sf = Salesforce(instance_url=sandbox, session_id=token, version="62.0", session=session)
            before = stats(sandbox, tenant)
            started = time.monotonic()
            for i in range(n):
                sf.Account.create({"Name": f"one by one {i}"})
            one_seconds = time.monotonic() - started
            one_calls = delta(stats(sandbox, tenant), before)
    auto_total = sum(auto_calls.values())
    lines = [
        "## Asynchronous writes",
        "",
        f"Command: `{COMMAND} --seconds {args.seconds} --records {n}`  ",
        f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}; the sandbox, `writeback"
        " serve --no-worker` and `writeback worker` (SQLite) as separate processes, all on this"
        " machine.",
        "",
        "**Accepting** asynchronous single creates (wrk -t2 -c32). `writeback serve --no-worker`"
        " accepts; a separate `writeback worker` process writes:",
        "",
        "| path | req/s | p50 ms | p99 ms | non-2xx |",
        "|---|---|---|---|---|",
        f"| direct create to the sandbox (baseline) | {direct.rps:,.0f} | {direct.p50_ms:.2f} |"
        f" {direct.p99_ms:.2f} | {direct.non_2xx} |",
        f"| asynchronous accept, no worker running | {accept_only.rps:,.0f} |"
        f" {accept_only.p50_ms:.2f} | {accept_only.p99_ms:.2f} | {accept_only.non_2xx} |",
        f"| asynchronous accept while the worker writes | {accepted.rps:,.0f} |"
        f" {accepted.p50_ms:.2f} | {accepted.p99_ms:.2f} | {accepted.non_2xx} |",
        "",
        f"Ratio accept / direct: **{accept_only.rps / direct.rps:.2f}** accepting alone,"
        f" **{accepted.rps / direct.rps:.2f}** while the worker process writes on the same two"
        " cores and the same SQLite file (the two processes take turns at its single writer"
        f" lock). The worker wrote the {accept_only.requests:,} records accepted alone in"
        f" {worker_drain:.1f} s, and finished the others {drain:.1f} s after wrk stopped.",
        "",
        f"**Auto-batching**: {n:,} single asynchronous writes (`autoBatchPolicy`,"
        f" concurrency 32) made **{auto_total:,} provider calls**"
        f" ({auto_total / n:.4f} per record; goal ≤ 0.011): {auto_calls}. All written in"
        f" {auto_seconds:.1f} s.",
        "",
        f"**{n:,} records**, two ways, against the same sandbox:",
        "",
        "| way | wall time | provider calls |",
        "|---|---|---|",
        f"| writeback, {n // 100} asynchronous batches of 100 (8 at a time) |"
        f" {batch_seconds:.1f} s | {sum(batch_calls.values()):,} |",
        f"| simple-salesforce `sf.Account.create`, one by one | {one_seconds:.1f} s |"
        f" {sum(one_calls.values()):,} |",
    ]
    text = "\n".join(lines)
    write_section("write-async", text)
    print(text)


if __name__ == "__main__":
    main()

"""How many creates per second the sandbox serves (one process), against a baseline.

Baseline: the cheapest request the same process answers (`GET /_sandbox/health`), so the
ratio says what a create costs on top of the HTTP stack, whatever the machine's speed.

    .venv/bin/python benchmarks/sandbox_creates.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

import httpx

from common import free_port, machine, process, write_section, wrk

COMMAND = ".venv/bin/python benchmarks/sandbox_creates.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    run = {"seconds": args.seconds, "connections": args.connections}
    with process(["sandbox", "--port", str(port)], f"{url}/_sandbox/health"):
        sf = httpx.post(f"{url}/_sandbox/tenants", json={"provider": "salesforce"}).json()
        hs = httpx.post(
            f"{url}/_sandbox/tenants",
            json={"provider": "hubspot", "settings": {"rateLimits": "off"}},
        ).json()
        baseline = wrk(f"{url}/_sandbox/health", **run)
        salesforce = wrk(
            f"{url}/services/data/v62.0/sobjects/Account/",
            method="POST",
            body=json.dumps({"Name": "Bench Co", "Industry": "Technology"}),
            headers={
                "Authorization": f"Bearer {sf['accessToken']}",
                "Content-Type": "application/json",
            },
            **run,
        )
        hubspot = wrk(
            f"{url}/crm/v3/objects/companies",
            method="POST",
            body=json.dumps({"properties": {"name": "Bench Co", "domain": "bench.example"}}),
            headers={
                "Authorization": f"Bearer {hs['accessToken']}",
                "Content-Type": "application/json",
            },
            **run,
        )
        stored_sf = httpx.get(f"{url}/_sandbox/tenants/{sf['tenantId']}").json()["objects"]
        stored_hs = httpx.get(f"{url}/_sandbox/tenants/{hs['tenantId']}").json()["objects"]
    rows = [
        ("baseline GET /_sandbox/health", baseline),
        ("Salesforce create", salesforce),
        ("HubSpot create", hubspot),
    ]
    lines = [
        "## Sandbox creates per second",
        "",
        f"Command: `{COMMAND} --seconds {args.seconds}`  ",
        f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}, one sandbox process,"
        f" wrk -t2 -c{args.connections} -d{args.seconds}s on the same machine.",
        "",
        "| request | req/s | p50 ms | p99 ms | non-2xx | socket errors | ratio to baseline |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, result in rows:
        lines.append(
            f"| {name} | {result.rps:,.0f} | {result.p50_ms:.2f} | {result.p99_ms:.2f} |"
            f" {result.non_2xx} | {result.errors} | {result.rps / baseline.rps:.2f} |"
        )
    lines += [
        "",
        f"Records the sandbox held afterwards: Salesforce Account {stored_sf.get('Account', 0):,}"
        f" (wrk counted {salesforce.requests:,}), HubSpot companies"
        f" {stored_hs.get('companies', 0):,} (wrk counted {hubspot.requests:,}); the sandbox"
        " may hold up to one record per connection more: requests in flight when wrk stopped.",
    ]
    text = "\n".join(lines)
    write_section("sandbox-creates", text)
    print(text)


if __name__ == "__main__":
    main()

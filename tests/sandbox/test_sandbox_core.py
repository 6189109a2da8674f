"""The sandbox's shared parts: router, fault injection, admin API, state file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import Sandbox, free_port
from writeback.sandbox.faults import FaultConfig, FaultConfigError, FaultInjector
from writeback.sandbox.http import Request, Response, Router

SF_CREATE = "/services/data/v62.0/sobjects/Account/"


async def _ok(request: Request) -> Response:
    return Response(200, request.params.get("id", "").encode())


def test_router_params_trailing_slash_and_405() -> None:
    router = Router()
    router.add("GET", "/things/{id}", _ok)
    handler, params, exists = router.match("GET", "/things/42/")
    assert handler is _ok and params == {"id": "42"} and exists
    handler, _, exists = router.match("POST", "/things/42")
    assert handler is None and exists  # a 405, not a 404
    handler, _, exists = router.match("GET", "/things/42/more")
    assert handler is None and not exists


def test_fault_config_validation_messages() -> None:
    with pytest.raises(FaultConfigError, match="rateLimitRate must be a number from 0 to 1"):
        FaultConfig.from_json({"rateLimitRate": 2})
    with pytest.raises(FaultConfigError, match="add up to more than 1"):
        FaultConfig.from_json({"rateLimitRate": 0.6, "dropRate": 0.6})
    with pytest.raises(FaultConfigError, match="unknown fault setting"):
        FaultConfig.from_json({"latency": 5})
    with pytest.raises(FaultConfigError, match="failNext"):
        FaultConfig.from_json({"failNext": ["explode"]})


def test_faults_are_reproducible_with_a_seed() -> None:
    config = {"seed": 7, "rateLimitRate": 0.2, "unavailableRate": 0.1, "dropRate": 0.1}

    def kinds() -> list[str | None]:
        injector = FaultInjector(FaultConfig.from_json(config))
        return [d.kind if (d := injector.draw()) else None for _ in range(500)]

    first, second = kinds(), kinds()
    assert first == second
    share = first.count("rate_limited") / len(first)
    assert 0.12 < share < 0.28  # about the configured 20 %
    assert {"rate_limited", "unavailable", "drop", None} == set(first)


def test_fail_next_comes_first_and_in_order() -> None:
    injector = FaultInjector(FaultConfig.from_json({"failNext": ["unavailable", "drop"]}))
    drawn = [injector.draw() for _ in range(3)]
    assert [d.kind if d else None for d in drawn] == ["unavailable", "drop", None]


def test_admin_tenant_lifecycle(sandbox: Sandbox) -> None:
    admin = sandbox.admin
    sf = sandbox.new_tenant("salesforce")
    assert sf["provider"] == "salesforce" and sf["accessToken"] and sf["refreshToken"]
    assert sf["instanceUrl"] == sandbox.url
    hs = sandbox.new_tenant("hubspot")
    assert hs["provider"] == "hubspot" and isinstance(hs["hubId"], int)
    listed = {t["tenantId"] for t in admin.get("/_sandbox/tenants").json()}
    assert {sf["tenantId"], hs["tenantId"]} <= listed
    got = admin.get(f"/_sandbox/tenants/{sf['tenantId']}").json()
    assert got["settings"] == sf["settings"] and got["faults"]["rateLimitRate"] == 0
    assert admin.delete(f"/_sandbox/tenants/{sf['tenantId']}").status_code == 204
    assert admin.get(f"/_sandbox/tenants/{sf['tenantId']}").status_code == 404
    # its token died with it
    response = httpx.post(
        sandbox.url + SF_CREATE,
        json={"Name": "x"},
        headers={"Authorization": f"Bearer {sf['accessToken']}"},
    )
    assert response.status_code == 401


def test_admin_rejects_bad_input(sandbox: Sandbox) -> None:
    admin = sandbox.admin
    bad = admin.post("/_sandbox/tenants", json={"provider": "zendesk"})
    assert bad.status_code == 400 and "provider must be one of" in bad.json()["error"]
    unknown = admin.post("/_sandbox/tenants", json={"provider": "hubspot", "settings": {"x": 1}})
    assert unknown.status_code == 400 and "unknown hubspot setting" in unknown.json()["error"]
    garbage = admin.post("/_sandbox/tenants", content=b"{not json")
    assert garbage.status_code == 400 and "not JSON" in garbage.json()["error"]
    tenant = sandbox.new_tenant("salesforce")
    faults = admin.put(f"/_sandbox/tenants/{tenant['tenantId']}/faults", json={"dropRate": 3})
    assert faults.status_code == 400


def test_admin_tokens_faults_settings_stats(sandbox: Sandbox) -> None:
    admin = sandbox.admin
    tenant = sandbox.new_tenant("salesforce")
    base = f"/_sandbox/tenants/{tenant['tenantId']}"
    minted = admin.post(f"{base}/tokens", json={"expiresIn": 60}).json()
    assert minted["expiresIn"] == 60 and minted["accessToken"] != tenant["accessToken"]
    headers = {"Authorization": f"Bearer {minted['accessToken']}"}
    created = httpx.post(sandbox.url + SF_CREATE, json={"Name": "Acme"}, headers=headers)
    assert created.status_code == 201, created.text
    stats = admin.get(f"{base}/stats").json()
    assert stats["requests"] >= 1 and sum(stats["byEndpoint"].values()) == stats["requests"]
    assert admin.post(f"{base}/tokens/expire", json={}).json()["expired"] == 2
    expired = httpx.post(sandbox.url + SF_CREATE, json={"Name": "Acme"}, headers=headers)
    assert expired.status_code == 401
    assert admin.post(f"{base}/tokens/revoke", json={}).json()["revoked"] >= 2
    patched = admin.patch(f"{base}/faults", json={"latencyMs": 5}).json()
    assert patched["latencyMs"] == 5 and patched["dropRate"] == 0
    replaced = admin.put(f"{base}/faults", json={"dropRate": 0.5}).json()
    assert replaced["latencyMs"] == 0 and replaced["dropRate"] == 0.5
    records = admin.get(f"{base}/records/Account").json()
    assert [r["Name"] for r in records["records"]] == ["Acme"] and records["total"] == 1
    assert admin.get(f"{base}/records/NoSuchObject").status_code == 404
    assert admin.post(f"{base}/reset").status_code == 204
    assert admin.get(f"{base}/records/Account").json()["total"] == 0


def test_dropped_connection_and_latency(sandbox: Sandbox) -> None:
    tenant = sandbox.new_tenant("salesforce", faults={"failNext": ["drop"]})
    headers = {"Authorization": f"Bearer {tenant['accessToken']}"}
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(sandbox.url + SF_CREATE, json={"Name": "x"}, headers=headers)
    # the next request is fine
    ok = httpx.post(sandbox.url + SF_CREATE, json={"Name": "x"}, headers=headers)
    assert ok.status_code == 201
    sandbox.admin.put(f"/_sandbox/tenants/{tenant['tenantId']}/faults", json={"latencyMs": 150})
    started = time.monotonic()
    httpx.post(sandbox.url + SF_CREATE, json={"Name": "y"}, headers=headers)
    assert time.monotonic() - started >= 0.15


def test_timeout_fault_leaves_the_client_waiting(sandbox: Sandbox) -> None:
    tenant = sandbox.new_tenant("salesforce", faults={"failNext": ["timeout"], "timeoutSeconds": 5})
    headers = {"Authorization": f"Bearer {tenant['accessToken']}"}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(sandbox.url + SF_CREATE, json={"Name": "x"}, headers=headers, timeout=0.5)


def _start(state: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "writeback", "sandbox", "--port", str(port), "--state", str(state)],
        env={**os.environ},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/_sandbox/health").status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("sandbox did not start")


def test_state_file_keeps_tenants_tokens_and_records_across_restarts(tmp_path: Path) -> None:
    state, port = tmp_path / "sandbox.db", free_port()
    url = f"http://127.0.0.1:{port}"
    process = _start(state, port)
    try:
        tenant = httpx.post(f"{url}/_sandbox/tenants", json={"provider": "salesforce"}).json()
        headers = {"Authorization": f"Bearer {tenant['accessToken']}"}
        created = httpx.post(url + SF_CREATE, json={"Name": "Kept"}, headers=headers).json()
    finally:
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down cleanly (flushing the state file), then re-raises SIGTERM
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)
    process = _start(state, port)
    try:
        record = httpx.get(
            f"{url}/services/data/v62.0/sobjects/Account/{created['id']}", headers=headers
        )
        assert record.status_code == 200, record.text
        assert record.json()["Name"] == "Kept"
        again = httpx.post(url + SF_CREATE, json={"Name": "Second"}, headers=headers)
        assert again.status_code == 201 and again.json()["id"] != created["id"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)

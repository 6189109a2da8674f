"""Token refresh: once per connection across tasks and processes (a short claim on the
connection row, no transaction held open), never waiting on another connection's refresh, and
bounded by a timeout."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from conftest import FAST_ASYNC, Sandbox, Server, free_port
from writeback.connectors.contract import ConnectorError
from writeback.connectors.credentials import CredentialStore
from writeback.connectors.http import ProviderHttp
from writeback.store.engine import create_engine, session_factory
from writeback.store.secrets import SecretBox
from writeback.store.tables import Connection
from writes.write_support import Customer, new_customer

EXPIRED = "2020-01-01T00:00:00Z"


def expire_access_tokens(customer: Customer) -> None:
    response = customer.sandbox.admin.post(
        f"/_sandbox/tenants/{customer.tenant['tenantId']}/tokens/expire", json={}
    )
    assert response.json()["expired"] >= 1


def status_of(customer: Customer) -> str:
    return str(customer.get_connection()["status"])


def write_body(customer: Customer, record: dict[str, Any]) -> dict[str, Any]:
    return {"groupRef": customer.group_ref, "type": "create", "record": record}


def write_path(customer: Customer, object_name: str) -> str:
    return f"{customer.p}/integrations/{customer.integration['id']}/objects/{object_name}"


def async_api(customer: Customer, base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url + "/v1", headers=dict(customer.api.headers), timeout=60
    )


@asynccontextmanager
async def database(stack: Server) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(stack.settings.database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def row(engine: AsyncEngine, connection_id: str) -> Connection:
    async with session_factory(engine)() as session:
        found = await session.get(Connection, connection_id)
    assert found is not None
    return found


async def set_claim(engine: AsyncEngine, connection_id: str, claim: str | None, ttl: float) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(Connection)
            .where(Connection.id == connection_id)
            .values(
                refresh_claim=claim,
                refresh_claim_expires_at=(
                    datetime.now(UTC) + timedelta(seconds=ttl) if claim else None
                ),
            )
        )


@asynccontextmanager
async def credential_store(
    stack: Server, sandbox: Sandbox, engine: AsyncEngine, **options: Any
) -> AsyncIterator[CredentialStore]:
    """A CredentialStore of its own: another process, as far as the database can tell."""
    http = ProviderHttp()
    try:
        yield CredentialStore(
            session_factory(engine),
            SecretBox.from_settings(stack.settings),
            http,
            sandbox.url,
            **options,
        )
    finally:
        await http.close()


@contextmanager
def second_writeback(stack: Server, sandbox: Sandbox) -> Iterator[str]:
    """Another `writeback serve` process on the same database (and key file)."""
    port = free_port()
    env = {
        **os.environ,
        **{f"WRITEBACK_{name.upper()}": str(value) for name, value in FAST_ASYNC.items()},
        "WRITEBACK_HOME": str(stack.home),
        "WRITEBACK_DATABASE_URL": stack.settings.database_url,
        "WRITEBACK_SANDBOX_URL": sandbox.url,
    }
    command = [sys.executable, "-m", "writeback", "serve", "--port", str(port)]
    command += ["--log-level", "warning", "--no-migrate", "--no-worker"]
    process = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
            assert process.poll() is None, "the second writeback process exited"
            assert time.monotonic() < deadline, "the second writeback process did not start"
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


# --- single flight -----------------------------------------------------------------------


async def test_two_processes_refresh_a_rotating_token_once(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(
        stack, sandbox, "salesforce", tenant_options={"settings": {"rotateRefreshTokens": True}}
    )
    path = write_path(customer, "contact")
    with second_writeback(stack, sandbox) as other:
        for round_ in (1, 2):
            # the token request takes a while, so both processes' writes arrive during it
            customer.faults(tokenLatencyMs=300)
            expire_access_tokens(customer)
            async with async_api(customer, stack.url) as here, async_api(customer, other) as there:
                responses = await asyncio.gather(
                    *(
                        client.post(path, json=write_body(customer, {"LastName": f"r{round_}-{i}"}))
                        for i in range(12)
                        for client in (here, there)
                    )
                )
            assert [r.status_code for r in responses] == [200] * 24, [r.text for r in responses]
            # one token request for both processes: a rotated refresh token used twice would
            # have been refused (and the connection marked bad_credentials)
            assert customer.stats()["oauth.token"] == round_
            assert status_of(customer) in ("created", "working")
    assert len(customer.records("Contact")) == 48


async def test_another_process_waits_for_the_claim_and_uses_its_token(
    stack: Server, sandbox: Sandbox
) -> None:
    customer = new_customer(
        stack,
        sandbox,
        "hubspot",
        access_token_expires_at=EXPIRED,
        tenant_options={"faults": {"tokenLatencyMs": 300}},
    )
    connection_id = customer.connection["id"]
    async with (
        database(stack) as engine,
        credential_store(stack, sandbox, engine) as first,
        credential_store(stack, sandbox, engine) as second,
    ):
        connection = await row(engine, connection_id)
        tokens = await asyncio.gather(
            *(store.access_token(connection) for store in (first, second) for _ in range(5))
        )
        assert len(set(tokens)) == 1 and tokens[0] != customer.tenant["accessToken"]
        assert customer.stats()["oauth.token"] == 1
        after = await row(engine, connection_id)
        assert after.refresh_claim is None and after.refresh_claim_expires_at is None
        assert after.status == "created"


async def test_a_claim_is_waited_for_then_taken_over(stack: Server, sandbox: Sandbox) -> None:
    customer = new_customer(stack, sandbox, "hubspot", access_token_expires_at=EXPIRED)
    connection_id = customer.connection["id"]
    async with database(stack) as engine, credential_store(stack, sandbox, engine) as store:
        connection = await row(engine, connection_id)
        await set_claim(engine, connection_id, "another-process", ttl=30)
        waiting = asyncio.create_task(store.access_token(connection))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # the other process holds the claim
        assert "oauth.token" not in customer.stats()
        # the other process gave up without a token (its claim cleared): this one refreshes
        await set_claim(engine, connection_id, None, ttl=0)
        token = await waiting
        assert token != customer.tenant["accessToken"]
        assert customer.stats()["oauth.token"] == 1
        # an expired claim (a process died mid-refresh) is taken over at once
        await set_claim(engine, connection_id, "dead-process", ttl=-1)
        assert await store.refresh(connection_id, stale=token) != token
        assert customer.stats()["oauth.token"] == 2
        assert (await row(engine, connection_id)).refresh_claim is None


# --- one connection does not wait for another --------------------------------------------


async def test_a_stalled_refresh_does_not_delay_another_connection(
    stack: Server, sandbox: Sandbox
) -> None:
    slow = new_customer(
        stack,
        sandbox,
        "hubspot",
        access_token_expires_at=EXPIRED,
        tenant_options={"faults": {"tokenLatencyMs": 3000}},
    )
    other = new_customer(stack, sandbox, "salesforce")
    expire_access_tokens(other)  # its write needs a refresh too
    slow_id = slow.connection["id"]
    async with (
        database(stack) as engine,
        async_api(slow, stack.url) as slow_api,
        async_api(other, stack.url) as other_api,
    ):
        slow_write = asyncio.create_task(
            slow_api.post(write_path(slow, "companies"), json=write_body(slow, {"name": "slow"}))
        )
        deadline = time.monotonic() + 30
        while (await row(engine, slow_id)).refresh_claim is None:  # its refresh is under way
            assert not slow_write.done(), slow_write.result().text
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        # no transaction holds the row during the token request: another writer gets it now
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text("SET LOCAL lock_timeout = '1s'"))
            else:
                await conn.exec_driver_sql("PRAGMA busy_timeout = 1000")
            await conn.execute(
                update(Connection)
                .where(Connection.id == slow_id)
                .values(update_time=Connection.update_time)
            )
        fast = await other_api.post(
            write_path(other, "contact"), json=write_body(other, {"LastName": "fast"})
        )
        assert fast.status_code == 200, fast.text
        # the Salesforce write (and its own refresh) finished while HubSpot's still ran
        assert (await row(engine, slow_id)).refresh_claim is not None
        assert not slow_write.done()
        assert other.stats()["oauth.token"] == 1
        slow_response = await slow_write
        assert slow_response.status_code == 200, slow_response.text
        assert slow.stats()["oauth.token"] == 1
        assert (await row(engine, slow_id)).refresh_claim is None


# --- timeout -------------------------------------------------------------------------------


async def test_a_timed_out_refresh_is_retryable_and_releases_the_claim(
    stack: Server, sandbox: Sandbox
) -> None:
    customer = new_customer(
        stack,
        sandbox,
        "hubspot",
        access_token_expires_at=EXPIRED,
        tenant_options={"faults": {"tokenLatencyMs": 2000}},
    )
    connection_id = customer.connection["id"]
    async with (
        database(stack) as engine,
        credential_store(stack, sandbox, engine, refresh_timeout=0.2) as store,
    ):
        connection = await row(engine, connection_id)
        with pytest.raises(ConnectorError) as caught:
            await store.access_token(connection)
        error = caught.value
        assert error.error_class == "network" and error.retryable
        assert "did not answer a token refresh within 0.2 s" in error.message
        after = await row(engine, connection_id)
        assert after.status == "created"  # not bad_credentials: the customer did nothing wrong
        assert after.refresh_claim is None and after.refresh_claim_expires_at is None
        # the next attempt refreshes (no stale claim in the way)
        customer.faults()
        token = await store.access_token(connection)
        assert token != customer.tenant["accessToken"]
        assert (await row(engine, connection_id)).refresh_claim is None

"""Webhook targets against the SSRF rules, over real HTTP: refused when set, refused again when
a delivery connects (DNS rebinding), allowed by the setting; and `lastError` never carries what
a receiver said."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from standardwebhooks import Webhook as StandardWebhook

from conftest import BACKENDS, Server, ServerThread, running_server
from webhooks.fake_dns import FakeDns
from webhooks.receiver import Recorder, ping
from writeback.operations.webhooks import WebhookDeliverer, build_deliverer, delivery_http
from writeback.store.engine import create_engine
from writeback.store.secrets import SecretBox
from writeback.store.tables import Webhook, WebhookDelivery, utcnow

PUBLIC = "93.184.215.14"  # any globally routable address; nothing is sent to it
ALLOW = "WRITEBACK_ALLOW_PRIVATE_WEBHOOK_TARGETS"


@pytest.fixture(scope="module", params=BACKENDS)
def guarded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """writeback with the SSRF checks on, as in production. Its deliveries are sent by
    `deliver` in the test's own event loop, where the fake DNS answers (the server's loop is
    uvloop, which resolves through libuv); `deliver` builds the worker's own deliverer."""
    home = tmp_path_factory.mktemp(f"targets-{request.param}")
    with running_server(
        request.param,
        home,
        "writeback_targets",
        allow_private_webhook_targets=False,
        embedded_worker=False,
    ) as harness:
        assert not harness.settings.private_webhook_targets_allowed
        yield harness


async def _deliver(server: Server, allowed: bool) -> int:
    engine = create_engine(server.settings.database_url)
    box = SecretBox.from_settings(server.settings)
    if allowed:  # as the worker of a server that allows private targets would
        deliverer = WebhookDeliverer(engine, box, delivery_http(), private_targets_allowed=True)
    else:
        deliverer = build_deliverer(engine, box, server.settings)  # what build_worker uses
    try:
        async with engine.begin() as conn:  # whatever is pending is due now
            await conn.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.status == "pending")
                .values(next_attempt_at=utcnow())
            )
        return await deliverer.deliver_due()
    finally:
        await deliverer.close()
        await engine.dispose()


def deliver(server: Server, *, allowed: bool = False) -> int:
    return asyncio.run(_deliver(server, allowed))


def queue_ping(client: httpx.Client, hook_url: str) -> str:
    queued = client.post(hook_url + ":test")
    assert queued.status_code == 202, queued.text
    return str(queued.json()["id"])


def logged(client: httpx.Client, hook_url: str, delivery_id: str) -> dict[str, Any]:
    (found,) = [
        delivery
        for delivery in client.get(hook_url + "/deliveries").json()["results"]
        if delivery["id"] == delivery_id
    ]
    return found


def problem(response: httpx.Response, name: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert [entry["name"] for entry in body["issues"]] == [name]
    return body


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://[::1]:8000/hook", "loopback"),
        ("http://10.1.2.3/hook", "private network"),
        ("https://192.168.0.1/hook", "private network"),
        ("http://localhost:8000/hook", "loopback"),  # by name, whatever it resolves to
        ("http://LocalHost./hook", "loopback"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://100.64.0.7/hook", "carrier-grade NAT"),
        ("http://0.0.0.0:8000/hook", "unspecified"),
        ("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata"),
        ("http://2130706433/hook", "loopback"),  # 127.0.0.1 as one number: resolves to it
    ],
)
def test_private_targets_are_refused_at_create(guarded: Server, url: str, kind: str) -> None:
    project, client = guarded.new_project()
    response = client.post(f"/projects/{project['id']}/webhooks", json={"url": url})
    body = problem(response, "url")
    assert f": a {kind} address, which webhooks may not reach" in body["detail"]
    assert ALLOW in body["remedy"]
    assert client.get(f"/projects/{project['id']}/webhooks").json() == []


def test_names_are_resolved_and_every_answer_checked(
    guarded: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    dns = FakeDns.install(monkeypatch)
    dns.names["inside.example"] = ["10.0.0.8"]
    dns.names["mixed.example"] = [PUBLIC, "127.0.0.1"]
    dns.names["outside.example"] = [PUBLIC]
    project, client = guarded.new_project()
    base = f"/projects/{project['id']}/webhooks"
    body = problem(client.post(base, json={"url": "https://inside.example/hook"}), "url")
    assert "inside.example resolves to 10.0.0.8: a private network address" in body["detail"]
    body = problem(client.post(base, json={"url": "https://mixed.example/hook"}), "url")
    assert "mixed.example resolves to 127.0.0.1: a loopback address" in body["detail"]
    created = client.post(base, json={"url": "https://outside.example/hook"})
    assert created.status_code == 201, created.text
    assert dns.lookups == ["inside.example", "mixed.example", "outside.example"]


def test_unresolvable_hosts_and_credentials_are_refused(guarded: Server) -> None:
    project, client = guarded.new_project()
    base = f"/projects/{project['id']}/webhooks"
    body = problem(client.post(base, json={"url": "https://no-such-host.invalid/hook"}), "url")
    assert "does not resolve" in body["detail"]
    response = client.post(base, json={"url": f"https://user:hunter2@{PUBLIC}/hook"})
    body = problem(response, "url")
    assert "credentials" in body["detail"]
    assert "hunter2" not in response.text
    assert client.get(base).json() == []


def test_public_literal_is_accepted_and_a_private_update_refused(guarded: Server) -> None:
    project, client = guarded.new_project()
    base = f"/projects/{project['id']}/webhooks"
    created = client.post(base, json={"url": f"https://{PUBLIC}/hook"})
    assert created.status_code == 201, created.text
    v6 = client.post(base, json={"url": "https://[2606:4700::1111]/hook"})
    assert v6.status_code == 201, v6.text
    hook_url = f"{base}/{created.json()['id']}"
    response = client.patch(
        hook_url,
        json={"updateMask": ["url"], "webhook": {"url": "http://169.254.169.254/"}},
    )
    body = problem(response, "webhook.url")
    assert "cloud metadata" in body["detail"]
    assert client.get(hook_url).json()["url"] == f"https://{PUBLIC}/hook"


def test_the_setting_allows_private_targets(server: Server) -> None:
    """The shared test server allows them (conftest passes the setting explicitly)."""
    assert server.settings.private_webhook_targets_allowed
    project, client = server.new_project()
    base = f"/projects/{project['id']}/webhooks"
    for url in ("http://127.0.0.1:9/hook", "http://169.254.169.254/", "http://localhost:9/"):
        response = client.post(base, json={"url": url, "active": False})
        assert response.status_code == 201, response.text


# -- at delivery ---------------------------------------------------------------------------


def test_dns_rebinding_is_refused_when_the_delivery_connects(
    guarded: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name public when the webhook was created, and loopback by the time it is delivered."""
    dns = FakeDns.install(monkeypatch)
    recorder = Recorder()
    with ServerThread(recorder) as receiver:
        url = f"http://rebind.example:{receiver.port}/hook"
        dns.names["rebind.example"] = [PUBLIC]  # public at create...
        project, client = guarded.new_project()
        made = client.post(f"/projects/{project['id']}/webhooks", json={"url": url})
        assert made.status_code == 201, made.text
        hook_url = f"/projects/{project['id']}/webhooks/{made.json()['id']}"

        dns.names["rebind.example"] = ["127.0.0.1"]  # ...loopback when the delivery connects
        delivery_id = queue_ping(client, hook_url)
        assert deliver(guarded) == 1
        refused = logged(client, hook_url, delivery_id)
        assert recorder.requests == []

        # Control: the same delivery, sent where private targets are allowed, does reach the
        # receiver through that name, so it was the check that stopped it.
        assert deliver(guarded, allowed=True) == 1
        delivered = logged(client, hook_url, delivery_id)
    assert refused["status"] == "pending" and refused["attempts"] == 1
    assert refused["lastError"] == (
        "target address refused (loopback): rebind.example resolves to 127.0.0.1"
    )
    assert "lastStatusCode" not in refused
    assert delivered["status"] == "delivered" and delivered["attempts"] == 2
    (request,) = recorder.requests
    assert request.host == f"rebind.example:{receiver.port}"
    StandardWebhook(made.json()["secret"]).verify(request.body, request.headers)
    assert dns.lookups.count("rebind.example") == 3  # create, then each connection


def test_a_stored_private_literal_is_refused_at_delivery(guarded: Server) -> None:
    """A webhook set while targets were allowed (or before the checks existed) is not sent to
    a private address once they are refused: aiohttp resolves no literal, so it is checked
    before connecting."""
    recorder = Recorder()
    with ServerThread(recorder) as receiver:
        project, client = guarded.new_project()
        made = client.post(f"/projects/{project['id']}/webhooks", json={"url": f"http://{PUBLIC}/"})
        assert made.status_code == 201, made.text
        set_url(guarded, made.json()["id"], receiver.url + "/hook")
        hook_url = f"/projects/{project['id']}/webhooks/{made.json()['id']}"
        delivery_id = queue_ping(client, hook_url)
        assert deliver(guarded) == 1
    refused = logged(client, hook_url, delivery_id)
    assert refused["lastError"] == "target address refused (loopback): 127.0.0.1"
    assert recorder.requests == []


def set_url(server: Server, webhook_id: str, url: str) -> None:
    async def run() -> None:
        engine = create_engine(server.settings.database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(update(Webhook).where(Webhook.id == webhook_id).values(url=url))
        finally:
            await engine.dispose()

    asyncio.run(run())


async def test_build_deliverer_follows_the_setting(guarded: Server, server: Server) -> None:
    engine = create_engine(guarded.settings.database_url)
    try:
        box = SecretBox.from_settings(guarded.settings)
        assert not build_deliverer(engine, box, guarded.settings).private_targets_allowed
        assert build_deliverer(engine, box, server.settings).private_targets_allowed
    finally:
        await engine.dispose()


# -- what a receiver says stays with the receiver ------------------------------------------

RECEIVER_TEXT = "receiver-private-text-e91b07"


def test_last_error_never_carries_the_receivers_answer(server: Server) -> None:
    recorder = Recorder(status=500, body=f"<h1>{RECEIVER_TEXT}</h1>".encode())
    with ServerThread(recorder) as receiver:
        project, client = server.new_project()
        base = f"/projects/{project['id']}/webhooks"
        made = client.post(base, json={"url": receiver.url + "/hook"})
        assert made.status_code == 201, made.text
        hook_url = f"{base}/{made.json()['id']}"
        failed = ping(client, hook_url)
        answers = [client.get(hook_url + "/deliveries"), client.get(hook_url), client.get(base)]
        # stop the retries before the receiver goes away
        assert client.delete(hook_url).status_code == 204
    assert recorder.requests  # the receiver did answer, with its text
    assert failed["lastStatusCode"] == 500
    assert failed["lastError"] == "receiver answered HTTP 500"
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert RECEIVER_TEXT not in answer.text

"""The webhooks API over real HTTP: CRUD, validation, isolation, secrets, the delivery log."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from standardwebhooks import Webhook as StandardWebhook

from conftest import Server, ServerThread
from webhooks.receiver import Recorder
from writeback.api.app import asgi_app, create_app
from writeback.api.routes import webhooks
from writeback.connectors.http import ProviderHttp
from writeback.operations.webhooks import WebhookDeliverer, verify_signature
from writeback.store.engine import create_engine, session_factory
from writeback.store.secrets import SecretBox
from writeback.store.tables import Webhook

PROBLEM_JSON = "application/problem+json"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
ROUTE = "/v1/projects/{projectIdOrName}/webhooks"
# Port 9 (discard) is privileged, so no test receiver ever gets it: nothing is delivered there.
NOWHERE = "http://127.0.0.1:9/hook"
MY_SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
MY_OTHER_SECRET = "whsec_" + base64.b64encode(bytes(range(100, 140))).decode()
GENERATED = re.compile(r"^whsec_[A-Za-z0-9+/]{43}=$")  # 32 random bytes


@pytest.fixture(scope="module")
def api(server: Server) -> Iterator[Server]:
    """The shared server if it serves webhooks; otherwise one on the same database that does."""
    # NOWHERE and the test receivers are on loopback: conftest allows such targets explicitly
    assert server.settings.private_webhook_targets_allowed
    app = create_app(server.settings, migrate=False)
    if ROUTE in {getattr(route, "path", None) for route in app.routes}:
        yield server
        return
    app.include_router(webhooks.router, prefix="/v1")
    with ServerThread(asgi_app(app)) as running:
        admin = httpx.Client(
            base_url=running.url + "/v1", headers={"X-Api-Key": server.admin_key}, timeout=30
        )
        harness = Server(
            server.backend, running.url, server.home, server.settings, server.admin_key, admin
        )
        yield harness
        for made in [admin, *harness.clients]:
            made.close()


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status and body["detail"]
    return body


def issue_names(response: httpx.Response) -> list[str]:
    return [entry["name"] for entry in assert_problem(response, 400).get("issues") or []]


def create_webhook(client: httpx.Client, project_id: str, **body: Any) -> dict[str, Any]:
    response = client.post(f"/projects/{project_id}/webhooks", json={"url": NOWHERE, **body})
    assert response.status_code == 201, response.text
    return response.json()


async def _stored(server: Server, webhook_id: str) -> Webhook | None:
    engine = create_engine(server.settings.database_url)
    try:
        async with session_factory(engine)() as session:
            return await session.get(Webhook, webhook_id)
    finally:
        await engine.dispose()


def stored_secret(server: Server, webhook_id: str) -> str:
    row = asyncio.run(_stored(server, webhook_id))
    assert row is not None
    return SecretBox.from_settings(server.settings).decrypt(row.secret_encrypted)


async def _postgres_dump(url: str) -> bytes:
    engine = create_engine(url)
    out = []
    async with engine.connect() as conn:
        for table in ("webhook", "webhook_delivery"):
            rows = await conn.execute(text(f'select t::text from "{table}" t'))
            out.extend(row[0] for row in rows)
    await engine.dispose()
    return "\n".join(out).encode()


def raw_database(server: Server) -> bytes:
    """What a copy of the database would reveal."""
    if server.backend == "sqlite":
        files = [server.home / "writeback.db", server.home / "writeback.db-wal"]
        return b"".join(f.read_bytes() for f in files if f.exists())
    return asyncio.run(_postgres_dump(server.settings.database_url))


# -- create, read, update, delete ----------------------------------------------------------


def test_create_shows_a_generated_secret_once(api: Server) -> None:
    project, client = api.new_project()
    created = create_webhook(client, project["id"])
    secret = created["secret"]
    assert GENERATED.match(secret)
    assert UUID.match(created["id"]) and RFC3339.match(created["createTime"])
    assert created == {
        "id": created["id"],
        "projectId": project["id"],
        "url": NOWHERE,
        "events": ["write.async.done"],
        "active": True,
        "secret": secret,
        "createTime": created["createTime"],
    }
    base = f"/projects/{project['id']}/webhooks"
    got = client.get(f"{base}/{created['id']}")
    listed = client.get(base)
    patched = client.patch(
        f"{base}/{created['id']}", json={"updateMask": ["active"], "webhook": {"active": False}}
    )
    for response in (got, listed, patched):
        assert response.status_code == 200, response.text
        assert secret not in response.text and '"secret"' not in response.text
    without_secret = {k: v for k, v in created.items() if k != "secret"}
    assert got.json() == without_secret
    assert listed.json() == [without_secret]
    assert stored_secret(api, created["id"]) == secret


def test_own_secret_is_kept_and_encrypted_at_rest(api: Server) -> None:
    project, client = api.new_project()
    created = create_webhook(
        client, project["id"], secret=MY_SECRET, events=["write.async.done"], active=False
    )
    assert created["secret"] == MY_SECRET and created["active"] is False
    generated = create_webhook(client, project["id"])["secret"]
    assert stored_secret(api, created["id"]) == MY_SECRET
    dump = raw_database(api)
    assert NOWHERE.encode() in dump  # the dump is real: plain data is visible in it
    for secret in (MY_SECRET, generated):
        assert secret.encode() not in dump


def test_list_get_patch_delete(api: Server) -> None:
    project, client = api.new_project()
    base = f"/projects/{project['name']}/webhooks"  # by name works like by id
    first = create_webhook(client, project["id"])
    second = create_webhook(client, project["id"], secret=MY_SECRET)
    listed = client.get(base).json()
    assert [hook["id"] for hook in listed] == [first["id"], second["id"]]

    url = f"{base}/{first['id']}"
    response = client.patch(
        url,
        json={
            "updateMask": ["url", "events", "active", "secret"],
            "webhook": {
                "url": "https://hooks.example.test/v2",
                "events": ["write.async.done", "write.async.done"],
                "active": False,
                "secret": MY_OTHER_SECRET,
            },
        },
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert "secret" not in patched and MY_SECRET not in response.text
    assert RFC3339.match(patched["updateTime"])
    assert patched["url"] == "https://hooks.example.test/v2"
    assert patched["events"] == ["write.async.done"]
    assert patched["active"] is False
    assert patched["createTime"] == first["createTime"]
    assert client.get(url).json() == patched
    assert stored_secret(api, first["id"]) == MY_OTHER_SECRET

    # Fields outside the mask stay as they are.
    only_active = client.patch(
        url, json={"updateMask": ["active"], "webhook": {"active": True, "url": NOWHERE}}
    )
    assert only_active.status_code == 200, only_active.text
    assert only_active.json()["active"] is True
    assert only_active.json()["url"] == "https://hooks.example.test/v2"

    assert client.delete(url).status_code == 204
    assert_problem(client.get(url), 404)
    assert_problem(client.delete(url), 404)
    assert [hook["id"] for hook in client.get(base).json()] == [second["id"]]


# -- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ({}, "url"),
        ({"url": "ftp://example.test/hook"}, "url"),
        ({"url": "/relative/hook"}, "url"),
        ({"url": "https://"}, "url"),
        ({"url": "https://example.test:99999/hook"}, "url"),
        ({"url": NOWHERE, "events": []}, "events"),
        ({"url": NOWHERE, "events": ["write.async.done", "write.sync.done"]}, "events[1]"),
        ({"url": NOWHERE, "events": "write.async.done"}, "events"),
        ({"url": NOWHERE, "active": "maybe"}, "active"),
        ({"url": NOWHERE, "surprise": 1}, "surprise"),
    ],
)
def test_create_rejects_bad_input(api: Server, body: dict[str, Any], name: str) -> None:
    project, client = api.new_project()
    response = client.post(f"/projects/{project['id']}/webhooks", json=body)
    assert name in issue_names(response)
    assert client.get(f"/projects/{project['id']}/webhooks").json() == []


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("short-secret-1", "whsec_"),
        ("an-old-style-secret-of-forty-characters-", "whsec_"),  # the format before whsec_
        ("whsec_" + "%" * 40, "base64"),
        ("whsec_" + base64.b64encode(b"k" * 23).decode(), "holds 23"),  # too short a key
        ("whsec_" + base64.b64encode(b"k" * 65).decode(), "holds 65"),  # too long a key
        ("whsec_" + base64.urlsafe_b64encode(b"\xff" * 30).decode(), "base64"),  # URL alphabet
    ],
)
def test_bad_secret_is_rejected_without_echoing_it(api: Server, secret: str, why: str) -> None:
    project, client = api.new_project()
    response = client.post(
        f"/projects/{project['id']}/webhooks", json={"url": NOWHERE, "secret": secret}
    )
    assert issue_names(response) == ["secret"]
    assert why in response.json()["detail"]
    assert secret not in response.text and secret[6:] not in response.text


def test_secret_without_base64_padding_is_accepted(api: Server) -> None:
    project, client = api.new_project()
    unpadded = MY_SECRET.rstrip("=")
    assert unpadded != MY_SECRET
    created = create_webhook(client, project["id"], secret=unpadded)
    assert created["secret"] == unpadded


def test_patch_rejects_bad_input(api: Server) -> None:
    project, client = api.new_project()
    hook = create_webhook(client, project["id"])
    url = f"/projects/{project['id']}/webhooks/{hook['id']}"
    cases = [
        ({"updateMask": ["url"], "webhook": {}}, "webhook.url"),
        ({"updateMask": ["url"], "webhook": {"url": "mailto:a@b.c"}}, "webhook.url"),
        ({"updateMask": ["events"], "webhook": {"events": ["nope"]}}, "webhook.events[0]"),
        ({"updateMask": ["secret"], "webhook": {"secret": "tiny"}}, "webhook.secret"),
        ({"updateMask": ["url"], "webhook": {"url": "https://u:p@x.test/"}}, "webhook.url"),
        ({"updateMask": ["projectId"], "webhook": {}}, "updateMask[0]"),
        ({"updateMask": [], "webhook": {}}, "updateMask"),
        ({"webhook": {"active": False}}, "updateMask"),
    ]
    for body, name in cases:
        response = client.patch(url, json=body)
        assert name in issue_names(response), (body, response.text)
    assert client.get(url).json() == {k: v for k, v in hook.items() if k != "secret"}


def test_delivery_log_query_is_validated(api: Server) -> None:
    project, client = api.new_project()
    hook = create_webhook(client, project["id"])
    url = f"/projects/{project['id']}/webhooks/{hook['id']}/deliveries"
    assert issue_names(client.get(url, params={"status": "lost"})) == ["status"]
    assert issue_names(client.get(url, params={"pageSize": 0})) == ["pageSize"]
    assert issue_names(client.get(url, params={"pageSize": 201})) == ["pageSize"]
    assert issue_names(client.get(url, params={"pageToken": "%%%"})) == ["pageToken"]


def test_other_projects_webhooks_are_not_found(api: Server) -> None:
    mine, client = api.new_project()
    theirs, their_client = api.new_project()
    hook = create_webhook(their_client, theirs["id"])
    # Their project through my key, and their webhook through my project: both 404.
    assert_problem(client.get(f"/projects/{theirs['id']}/webhooks"), 404)
    assert_problem(client.post(f"/projects/{theirs['id']}/webhooks", json={"url": NOWHERE}), 404)
    base = f"/projects/{mine['id']}/webhooks/{hook['id']}"
    for method, path, body in [
        ("GET", base, None),
        ("PATCH", base, {"updateMask": ["active"], "webhook": {"active": False}}),
        ("DELETE", base, None),
        ("GET", base + "/deliveries", None),
        ("POST", base + ":test", None),
    ]:
        response = client.request(method, path, json=body)
        assert_problem(response, 404)
        assert hook["id"] in response.json()["detail"]
    assert their_client.get(f"/projects/{theirs['id']}/webhooks/{hook['id']}").json()["active"]
    assert client.get(f"/projects/{mine['id']}/webhooks").json() == []


def test_webhooks_need_an_api_key(api: Server) -> None:
    project, _ = api.new_project()
    anonymous = api.client(None)
    assert anonymous.get(f"/projects/{project['id']}/webhooks").status_code == 401


# -- test pings and the delivery log -------------------------------------------------------


async def _deliver_until_done(server: Server, client: httpx.Client, log_url: str) -> None:
    """Run a deliverer until the log shows no pending delivery (a worker inside the server
    may be the one that sends it: claims are exclusive, so either way it is sent once)."""
    engine = create_engine(server.settings.database_url)
    http = ProviderHttp()
    deliverer = WebhookDeliverer(
        engine,
        SecretBox.from_settings(server.settings),
        http,
        private_targets_allowed=True,  # the receiver listens on loopback
    )
    try:
        for _ in range(200):
            await deliverer.deliver_due(limit=200)
            statuses = {d["status"] for d in client.get(log_url).json()["results"]}
            if "pending" not in statuses:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the delivery was not sent within 10 seconds")
    finally:
        await http.close()
        await engine.dispose()


def test_test_ping_is_delivered_and_logged(api: Server) -> None:
    project, client = api.new_project()
    recorder = Recorder()
    with ServerThread(recorder) as receiver:
        hook = create_webhook(client, project["id"], url=receiver.url + "/in")
        base = f"/projects/{project['id']}/webhooks/{hook['id']}"
        response = client.post(base + ":test")
        assert response.status_code == 202, response.text
        ping = response.json()
        assert UUID.match(ping["id"])
        assert ping["event"] == "webhook.test" and ping["status"] == "pending"
        assert ping["attempts"] == 0 and RFC3339.match(ping["nextAttemptTime"])
        assert ping["payload"] == {"notificationType": "webhook.test", "data": {"message": "test"}}
        listed = client.get(base + "/deliveries").json()["results"]
        assert [(d["id"], d["event"], d["payload"]) for d in listed] == [
            (ping["id"], ping["event"], ping["payload"])
        ]
        asyncio.run(_deliver_until_done(api, client, base + "/deliveries"))

    (received,) = recorder.requests
    headers, body = received.headers, received.body
    assert headers["x-writeback-event"] == "webhook.test"
    assert headers["x-writeback-delivery"] == ping["id"]
    assert StandardWebhook(hook["secret"]).verify(body, headers) == ping["payload"]
    assert headers["webhook-id"] == ping["id"]
    # the deprecated header is still sent, and still verifies
    assert verify_signature(hook["secret"], headers["x-writeback-signature"], body)

    log = client.get(base + "/deliveries").json()
    assert log["pagination"] == {"done": True}
    (entry,) = log["results"]
    assert entry["status"] == "delivered" and entry["attempts"] == 1
    assert entry["lastStatusCode"] == 204 and RFC3339.match(entry["deliveredTime"])
    assert "nextAttemptTime" not in entry and "lastError" not in entry
    delivered = client.get(base + "/deliveries", params={"status": "delivered"}).json()
    assert [d["id"] for d in delivered["results"]] == [ping["id"]]
    pending = client.get(base + "/deliveries", params={"status": "pending"}).json()
    assert pending == {"results": [], "pagination": {"done": True}}


def test_delivery_log_pages_newest_first(api: Server) -> None:
    project, client = api.new_project()
    hook = create_webhook(client, project["id"])
    base = f"/projects/{project['id']}/webhooks/{hook['id']}"
    ids = []
    for _ in range(5):
        response = client.post(base + ":test")
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    seen: list[str] = []
    params: dict[str, Any] = {"pageSize": 2}
    for _ in range(5):
        page = client.get(base + "/deliveries", params=params).json()
        seen += [d["id"] for d in page["results"]]
        if page["pagination"]["done"]:
            break
        params["pageToken"] = page["pagination"]["nextPageToken"]
    assert seen == ids[::-1]


def test_test_ping_to_an_inactive_webhook_is_refused(api: Server) -> None:
    project, client = api.new_project()
    hook = create_webhook(client, project["id"], active=False)
    base = f"/projects/{project['id']}/webhooks/{hook['id']}"
    body = assert_problem(client.post(base + ":test"), 409)
    assert "active" in body["remedy"]
    assert client.get(base + "/deliveries").json()["results"] == []

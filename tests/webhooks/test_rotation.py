"""Rotating a webhook's signing secret: `:rotate-secret`, the overlap window in which both
secrets sign, and its end; verified with the `standardwebhooks` library on real deliveries."""

from __future__ import annotations

import asyncio
import base64
import re
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from standardwebhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from conftest import Server, ServerThread
from webhooks.receiver import Recorder, ping
from writeback.operations.webhooks import verify_signature
from writeback.store.engine import create_engine, session_factory
from writeback.store.secrets import SecretBox
from writeback.store.tables import Webhook, utcnow

CHOSEN = "whsec_" + base64.b64encode(b"a chosen rotation key, 32 bytes!").decode()
GENERATED = re.compile(r"^whsec_[A-Za-z0-9+/]{43}=$")
RFCISH = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def new_webhook(
    server: Server, url: str = "http://127.0.0.1:9/hook"
) -> tuple[httpx.Client, str, str]:
    """A client, the webhook's API path and its first secret."""
    project, client = server.new_project()
    made = client.post(f"/projects/{project['id']}/webhooks", json={"url": url})
    assert made.status_code == 201, made.text
    return client, f"/projects/{project['id']}/webhooks/{made.json()['id']}", made.json()["secret"]


async def _stored(server: Server, webhook_id: str) -> tuple[str, str | None, Any]:
    engine = create_engine(server.settings.database_url)
    box = SecretBox.from_settings(server.settings)
    try:
        async with session_factory(engine)() as session:
            hook = await session.get(Webhook, webhook_id)
            assert hook is not None
            previous = hook.previous_secret_encrypted
            return (
                box.decrypt(hook.secret_encrypted),
                box.decrypt(previous) if previous else None,
                hook.previous_secret_expires_at,
            )
    finally:
        await engine.dispose()


def stored(server: Server, hook_url: str) -> tuple[str, str | None, Any]:
    return asyncio.run(_stored(server, hook_url.rsplit("/", 1)[1]))


def expire_previous_secret(server: Server, hook_url: str) -> None:
    async def run() -> None:
        engine = create_engine(server.settings.database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    update(Webhook)
                    .where(Webhook.id == hook_url.rsplit("/", 1)[1])
                    .values(previous_secret_expires_at=utcnow() - timedelta(seconds=1))
                )
        finally:
            await engine.dispose()

    asyncio.run(run())


def verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        StandardWebhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


def test_rotate_generates_a_secret_and_keeps_the_old_one_for_the_window(server: Server) -> None:
    client, hook_url, first = new_webhook(server)
    before = utcnow()
    response = client.post(hook_url + ":rotate-secret")
    assert response.status_code == 200, response.text
    rotated = response.json()
    assert GENERATED.match(rotated["secret"]) and rotated["secret"] != first
    hours = server.settings.webhook_secret_overlap_hours
    expires = parse_time(rotated["previousSecretExpireTime"])
    assert before + timedelta(hours=hours) <= expires <= utcnow() + timedelta(hours=hours)
    assert stored(server, hook_url) == (rotated["secret"], first, expires)

    shown = client.get(hook_url)  # the secret is shown once; the window is shown always
    assert "secret" not in shown.json() and rotated["secret"] not in shown.text
    assert shown.json()["previousSecretExpireTime"] == rotated["previousSecretExpireTime"]
    assert RFCISH.match(shown.json()["updateTime"])


def test_rotate_to_a_chosen_secret_with_a_chosen_window(server: Server) -> None:
    client, hook_url, first = new_webhook(server)
    response = client.post(hook_url + ":rotate-secret", json={"secret": CHOSEN, "overlapHours": 2})
    assert response.status_code == 200, response.text
    assert response.json()["secret"] == CHOSEN
    current, previous, expires = stored(server, hook_url)
    assert (current, previous) == (CHOSEN, first)
    assert timedelta(hours=1.99) < expires - utcnow() <= timedelta(hours=2)

    # No window: the old secret stops signing at once.
    response = client.post(hook_url + ":rotate-secret", json={"overlapHours": 0})
    assert response.status_code == 200, response.text
    assert "previousSecretExpireTime" not in response.json()
    assert stored(server, hook_url) == (response.json()["secret"], None, None)


def test_both_secrets_verify_during_the_window_and_only_the_new_one_after(
    server: Server,
) -> None:
    recorder = Recorder()
    with ServerThread(recorder) as receiver:
        client, hook_url, old = new_webhook(server, receiver.url + "/hook")
        rotated = client.post(hook_url + ":rotate-secret", json={"overlapHours": 1})
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["secret"]
        assert ping(client, hook_url)["status"] == "delivered"

        expire_previous_secret(server, hook_url)
        assert ping(client, hook_url)["status"] == "delivered"
    during, after = recorder.requests

    # During the window: two signatures, the new secret's first; either secret verifies.
    first, second = during.headers["webhook-signature"].split(" ")
    assert first.startswith("v1,") and second.startswith("v1,")
    assert verifies(new, during.body, during.headers)
    assert verifies(old, during.body, during.headers)
    only_new = {**during.headers, "webhook-signature": first}
    only_old = {**during.headers, "webhook-signature": second}
    assert verifies(new, during.body, only_new) and not verifies(old, during.body, only_new)
    assert verifies(old, during.body, only_old) and not verifies(new, during.body, only_old)
    legacy = during.headers["x-writeback-signature"]  # the deprecated header rotates alike
    assert verify_signature(new, legacy, during.body) and verify_signature(old, legacy, during.body)

    # After it: one signature, the new secret's.
    assert after.headers["webhook-signature"].count("v1,") == 1
    assert verifies(new, after.body, after.headers)
    assert not verifies(old, after.body, after.headers)
    assert not verify_signature(old, after.headers["x-writeback-signature"], after.body)
    assert "previousSecretExpireTime" not in client.get(hook_url).json()


def test_patching_the_secret_replaces_it_at_once(server: Server) -> None:
    client, hook_url, _ = new_webhook(server)
    assert client.post(hook_url + ":rotate-secret").status_code == 200
    response = client.patch(
        hook_url, json={"updateMask": ["secret"], "webhook": {"secret": CHOSEN}}
    )
    assert response.status_code == 200, response.text
    assert CHOSEN not in response.text and "previousSecretExpireTime" not in response.json()
    assert stored(server, hook_url) == (CHOSEN, None, None)


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ({"secret": "not-a-standard-secret-at-all-0123456789"}, "secret"),
        ({"secret": "whsec_" + base64.b64encode(b"short").decode()}, "secret"),
        ({"overlapHours": -1}, "overlapHours"),
        ({"overlapHours": 100000}, "overlapHours"),
        ({"overlapHours": "soon"}, "overlapHours"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_rotate_rejects_bad_input(server: Server, body: dict[str, Any], name: str) -> None:
    client, hook_url, first = new_webhook(server)
    response = client.post(hook_url + ":rotate-secret", json=body)
    problem = _problem(response, 400)
    assert [entry["name"] for entry in problem["issues"]] == [name]
    if "secret" in body:
        assert body["secret"] not in response.text
    assert stored(server, hook_url) == (first, None, None)  # nothing changed


def test_rotate_unknown_or_foreign_webhook_is_not_found(server: Server) -> None:
    client, hook_url, _ = new_webhook(server)
    project_path = hook_url.rsplit("/", 1)[0]
    missing = "00000000-0000-0000-0000-000000000000"
    problem = _problem(client.post(f"{project_path}/{missing}:rotate-secret"), 404)
    assert missing in problem["detail"]
    other, _, _ = new_webhook(server)  # another project's key
    _problem(other.post(hook_url + ":rotate-secret"), 404)

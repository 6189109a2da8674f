"""Webhook signatures, the outbox and the deliverer, against a real receiver on loopback.

Each backend gets its own fresh database (not the shared `server` one), so a worker running
inside the shared server can never deliver, retry or count these tests' deliveries.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from conftest import BACKENDS, ServerThread, database_url, free_port
from writeback.connectors.http import ProviderHttp
from writeback.operations.webhooks import (
    EVENTS,
    WEBHOOK_MAX_ANSWER_BYTES,
    WebhookDeliverer,
    delivery_http,
    enqueue_webhooks,
    sign,
    verify_signature,
)
from writeback.store.engine import create_engine
from writeback.store.migrate import upgrade_to_head
from writeback.store.secrets import SecretBox
from writeback.store.tables import Project, Webhook, WebhookDelivery, new_id, utcnow

SECRET = "whsec_" + base64.b64encode(b"webhook test key, 32 bytes long").decode()
# a secret from before Standard Webhooks: any string of 16+ characters
LEGACY_SECRET = "whsec-test-secret-0123456789abcdef"
# what a receiver answers on failure: must never come back through lastError
RECEIVER_TEXT = "receiver-private-text-7f3a9c"
EVENT = "write.async.done"
DATA = {
    "projectId": "p",
    "provider": "salesforce",
    "integrationId": "i",
    "integrationName": "crm",
    "installationId": "inst",
    "connectionId": "conn",
    "groupRef": "acme",
    "groupName": "Acme",
    "consumerRef": "jane",
    "consumerName": "Jane",
    "objectName": "account",
    "success": True,
    "successfulRecordIds": ["001A"],
    "errors": [],
}
BOX = SecretBox(b"webhook-tests-master-key")


# -- a receiver that records requests and answers per a script -----------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """ASGI app: answers the scripted (status, headers) in order, then 200."""

    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    delay: float = 0.0
    answer_size: int = 0  # answer this many bytes instead of a short body
    requests: list[Received] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append(Received(scope["path"], headers, body))
        if self.delay:
            await asyncio.sleep(self.delay)
        status, extra = self.script.pop(0) if self.script else (200, {})
        raw = [(k.encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        body = b"ok" if status < 300 else RECEIVER_TEXT.encode()
        if self.answer_size:
            body = (RECEIVER_TEXT.encode() * (self.answer_size // len(RECEIVER_TEXT) + 1))[
                : self.answer_size
            ]
        await send({"type": "http.response.body", "body": body})


@contextmanager
def receiving(receiver: Receiver) -> Iterator[str]:
    with ServerThread(receiver) as running:
        yield running.url + "/hook"


# -- database ------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    home: Path = tmp_path_factory.mktemp(f"webhooks-{request.param}")
    url = database_url(request.param, home, "writeback_webhooks")

    async def migrate() -> None:
        engine = create_engine(url)
        await upgrade_to_head(engine)
        await engine.dispose()

    asyncio.run(migrate())
    return url


@dataclass
class Db:
    engine: AsyncEngine
    project_id: str
    http: ProviderHttp

    def deliverer(self, **options: Any) -> WebhookDeliverer:
        # the test receivers listen on loopback; test_targets.py covers the refusals
        options.setdefault("private_targets_allowed", True)
        return WebhookDeliverer(self.engine, BOX, self.http, **options)

    async def webhook(
        self,
        url: str,
        *,
        events: list[str] | None = None,
        active: bool = True,
        secret: str = SECRET,
    ) -> str:
        webhook_id = new_id()
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(Webhook.__table__).values(
                    id=webhook_id,
                    project_id=self.project_id,
                    url=url,
                    events=list(EVENTS) if events is None else events,
                    secret_encrypted=BOX.encrypt(secret),
                    active=active,
                    create_time=utcnow(),
                )
            )
        return webhook_id

    async def enqueue(self, operation_id: str = "op-1", project_id: str | None = None) -> int:
        async with self.engine.begin() as conn:
            return await enqueue_webhooks(
                conn, project_id or self.project_id, EVENT, DATA, operation_id
            )

    async def deliveries(self, webhook_id: str) -> list[Any]:
        async with self.engine.connect() as conn:
            query = (
                select(WebhookDelivery)
                .where(WebhookDelivery.webhook_id == webhook_id)
                .order_by(WebhookDelivery.create_time)
            )
            return list((await conn.execute(query)).all())

    async def only_delivery(self, webhook_id: str) -> Any:
        rows = await self.deliveries(webhook_id)
        assert len(rows) == 1, rows
        return rows[0]

    async def set_active(self, webhook_id: str, active: bool) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(Webhook).where(Webhook.id == webhook_id).values(active=active)
            )


async def new_project(engine: AsyncEngine) -> str:
    project_id = new_id()
    name = f"hooks-{secrets.token_hex(4)}"
    async with engine.begin() as conn:
        await conn.execute(
            insert(Project.__table__).values(
                id=project_id, name=name, app_name=name, create_time=utcnow()
            )
        )
    return project_id


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[Db]:
    engine = create_engine(url)
    http = delivery_http()  # as the worker's deliverer has it, without the address checks
    try:
        yield Db(engine, await new_project(engine), http)
    finally:
        # Leave nothing due behind: the next test's deliverer would send it.
        async with engine.begin() as conn:
            await conn.execute(delete(WebhookDelivery))
            await conn.execute(delete(Webhook))
        await http.close()
        await engine.dispose()


async def wait_until(when: datetime) -> None:
    await asyncio.sleep(max(0.0, (when - utcnow()).total_seconds()) + 0.01)


def assert_within(value: datetime, low: datetime, high: datetime) -> None:
    slack = timedelta(milliseconds=5)  # database time precision
    assert low - slack <= value <= high + slack, (low, value, high)


# -- signatures ----------------------------------------------------------------------------


def test_sign_format_and_known_value() -> None:
    body = b'{"a":1}'
    header = sign(SECRET, 1700000000, body)
    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)


def test_verify_accepts_genuine_and_rejects_forgeries() -> None:
    body = orjson.dumps({"notificationType": EVENT, "data": DATA})
    now = time.time()
    header = sign(SECRET, int(now), body)
    assert verify_signature(SECRET, header, body, now=now)
    assert verify_signature(SECRET, header, body)  # default clock
    assert not verify_signature(SECRET, header, body + b" ", now=now)  # tampered body
    assert not verify_signature(SECRET, header, body.replace(b"true", b"false"), now=now)
    assert not verify_signature(SECRET + "x", header, body, now=now)  # wrong secret
    assert not verify_signature(SECRET, header, body, now=now + 301)  # stale
    assert not verify_signature(SECRET, header, body, now=now - 301)  # from the future
    assert verify_signature(SECRET, header, body, now=now + 1000, tolerance_seconds=2000)
    # A replayed signature with a fresh timestamp does not verify.
    v1 = header.split("v1=")[1]
    assert not verify_signature(SECRET, f"t={int(now) + 5},v1={v1}", body, now=now)


def test_verify_handles_malformed_headers_and_rotation() -> None:
    body = b"{}"
    now = time.time()
    good = sign(SECRET, int(now), body)
    v1 = good.split("v1=")[1]
    for header in ("", "garbage", f"v1={v1}", f"t=abc,v1={v1}", f"t={int(now)}", "t=,v1="):
        assert not verify_signature(SECRET, header, body, now=now), header
    assert not verify_signature(SECRET, f"t={int(now)},v1=é{v1[1:]}", body, now=now)
    # Several v1 values (e.g. during secret rotation): one genuine is enough.
    assert verify_signature(SECRET, f"t={int(now)}, v1={'0' * 64}, v1={v1}", body, now=now)


def test_backoff_doubles_with_jitter_and_caps() -> None:
    deliverer = WebhookDeliverer(None, BOX, None, base_delay=2.0, max_delay=60.0)  # type: ignore[arg-type]
    for attempts, base in ((1, 2.0), (2, 4.0), (3, 8.0), (5, 32.0)):
        delays = {deliverer.backoff(attempts) for _ in range(50)}
        assert all(base <= d <= base * 1.2 for d in delays), (attempts, delays)
        assert len(delays) > 1  # jittered
    assert deliverer.backoff(6) <= 60.0 and deliverer.backoff(30) == 60.0
    assert deliverer.backoff(1, retry_after=30) == 30  # Retry-After longer than the backoff
    assert 2.0 <= deliverer.backoff(1, retry_after=0.5) <= 2.4  # ...never shorter
    assert deliverer.backoff(1, retry_after=10**6) == 60.0  # capped like any delay


# -- the outbox ----------------------------------------------------------------------------


async def test_enqueue_targets_active_subscribed_webhooks_of_the_project(database: str) -> None:
    async with opened(database) as db:
        subscribed = await db.webhook("http://127.0.0.1:9/a")
        inactive = await db.webhook("http://127.0.0.1:9/b", active=False)
        unsubscribed = await db.webhook("http://127.0.0.1:9/c", events=[])
        other_project = await new_project(db.engine)
        before = utcnow()
        assert await db.enqueue("op-42") == 1
        assert await db.enqueue(project_id=other_project) == 0

        row = await db.only_delivery(subscribed)
        assert await db.deliveries(inactive) == []
        assert await db.deliveries(unsubscribed) == []
        assert row.status == "pending" and row.attempts == 0
        assert row.event == EVENT and row.operation_id == "op-42"
        assert_within(row.next_attempt_at, before, utcnow())
        assert row.payload == {
            "notificationType": EVENT,
            "data": {**DATA, "operationId": "op-42"},
        }


async def test_enqueue_is_part_of_the_callers_transaction(database: str) -> None:
    async with opened(database) as db:
        hook = await db.webhook("http://127.0.0.1:9/a")
        async with db.engine.connect() as conn:
            transaction = await conn.begin()
            assert await enqueue_webhooks(conn, db.project_id, EVENT, DATA, "op-x") == 1
            await transaction.rollback()
        assert await db.deliveries(hook) == []


# -- delivery ------------------------------------------------------------------------------


async def test_delivered_on_first_try_signed_with_headers(database: str) -> None:
    receiver = Receiver()
    async with opened(database) as db:
        with receiving(receiver) as url:
            hook = await db.webhook(url)
            await db.enqueue("op-7")
            deliverer = db.deliverer()
            assert await deliverer.deliver_due() == 1
            assert await deliverer.deliver_due() == 0  # nothing left to send

        row = await db.only_delivery(hook)
        assert row.status == "delivered" and row.attempts == 1
        assert row.last_status_code == 200 and row.last_error is None
        assert row.delivered_at is not None and row.lease_expires_at is None

        (request,) = receiver.requests
        assert request.path == "/hook"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["x-writeback-event"] == EVENT
        assert request.headers["webhook-id"] == row.id
        assert request.headers["user-agent"].startswith("writeback/")
        expected = {"notificationType": EVENT, "data": {**DATA, "operationId": "op-7"}}
        # what a receiver does: the standardwebhooks library, the raw body, the headers
        assert StandardWebhook(SECRET).verify(request.body, request.headers) == expected
        assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 300
        assert request.headers["webhook-signature"].count("v1,") == 1  # one secret, one signature
        with pytest.raises(WebhookVerificationError):
            StandardWebhook(SECRET).verify(request.body + b" ", request.headers)
        other = "whsec_" + base64.b64encode(b"another key of thirty-two bytes!").decode()
        with pytest.raises(WebhookVerificationError):
            StandardWebhook(other).verify(request.body, request.headers)
        # the deprecated headers are still sent, so receivers written for them keep working
        assert request.headers["x-writeback-delivery"] == row.id
        assert verify_signature(SECRET, request.headers["x-writeback-signature"], request.body)
        assert SECRET not in str(request.headers) and SECRET.encode() not in request.body


async def test_a_secret_from_before_standard_webhooks_still_verifies(database: str) -> None:
    """A stored secret in the old format signs with its UTF-8 bytes as the key."""
    receiver = Receiver()
    async with opened(database) as db:
        with receiving(receiver) as url:
            await db.webhook(url, secret=LEGACY_SECRET)
            await db.enqueue("op-8")
            assert await db.deliverer().deliver_due() == 1
        (request,) = receiver.requests
        body = orjson.loads(request.body)
        assert StandardWebhook(LEGACY_SECRET.encode()).verify(request.body, request.headers) == body
        assert verify_signature(
            LEGACY_SECRET, request.headers["x-writeback-signature"], request.body
        )


async def test_failures_back_off_exponentially_then_succeed(database: str) -> None:
    receiver = Receiver(script=[(500, {}), (502, {})])
    base = 1.0  # long enough that "not due yet" holds on a busy machine
    async with opened(database) as db:
        with receiving(receiver) as url:
            hook = await db.webhook(url)
            await db.enqueue()
            deliverer = db.deliverer(base_delay=base)

            for attempt, status in ((1, 500), (2, 502)):
                before = utcnow()
                assert await deliverer.deliver_due() == 1
                after = utcnow()
                row = await db.only_delivery(hook)
                assert row.status == "pending" and row.attempts == attempt
                assert row.last_status_code == status
                # the class of failure, never the receiver's words
                assert row.last_error == f"receiver answered HTTP {status}"
                delay = base * 2 ** (attempt - 1)
                assert_within(
                    row.next_attempt_at,
                    before + timedelta(seconds=delay),
                    after + timedelta(seconds=delay * 1.2),
                )
                assert await deliverer.deliver_due() == 0  # not due yet
                await wait_until(row.next_attempt_at)

            assert await deliverer.deliver_due() == 1
        row = await db.only_delivery(hook)
        assert row.status == "delivered" and row.attempts == 3
        assert row.last_status_code == 200 and row.last_error is None
        # the same webhook-id on every attempt: receivers dedupe on it
        assert [r.headers["webhook-id"] for r in receiver.requests] == [row.id] * 3
        for request in receiver.requests:  # every attempt is signed afresh
            StandardWebhook(SECRET).verify(request.body, request.headers)


async def test_retry_after_is_honoured(database: str) -> None:
    http_date = format_datetime(utcnow() + timedelta(seconds=90), usegmt=True)
    receiver = Receiver(script=[(503, {"Retry-After": "120"}), (429, {"Retry-After": http_date})])
    async with opened(database) as db:
        with receiving(receiver) as url:
            seconds = await db.webhook(url)
            await db.enqueue()
            deliverer = db.deliverer(base_delay=0.01)
            before = utcnow()
            assert await deliverer.deliver_due() == 1
            after = utcnow()
            row = await db.only_delivery(seconds)
            assert row.last_status_code == 503 and row.attempts == 1
            assert_within(
                row.next_attempt_at, before + timedelta(seconds=120), after + timedelta(seconds=120)
            )

            await db.set_active(seconds, False)  # park it; the next one gets the HTTP date
            dated = await db.webhook(url)
            await db.enqueue()
            assert await deliverer.deliver_due() == 1
            row = await db.only_delivery(dated)
            assert row.last_status_code == 429
            target = utcnow() + timedelta(seconds=90)
            assert abs((row.next_attempt_at - target).total_seconds()) < 3


async def test_network_error_is_recorded(database: str) -> None:
    async with opened(database) as db:
        hook = await db.webhook(f"http://127.0.0.1:{free_port()}/hook")  # nothing listens
        await db.enqueue()
        assert await db.deliverer(base_delay=60).deliver_due() == 1
        row = await db.only_delivery(hook)
        assert row.status == "pending" and row.attempts == 1
        assert row.last_status_code is None
        assert row.last_error == "connection refused"
        assert row.next_attempt_at > utcnow() + timedelta(seconds=50)


async def test_slow_receiver_times_out(database: str) -> None:
    receiver = Receiver(delay=2.0)
    async with opened(database) as db:
        with receiving(receiver) as url:
            hook = await db.webhook(url)
            await db.enqueue()
            started = time.monotonic()
            assert await db.deliverer(timeout=0.3, base_delay=60).deliver_due() == 1
            assert time.monotonic() - started < 1.5
        row = await db.only_delivery(hook)
        assert row.status == "pending" and row.attempts == 1
        assert row.last_error == "timed out after 0.3s"


async def test_tls_failure_is_named(database: str) -> None:
    receiver = Receiver()
    async with opened(database) as db:
        with receiving(receiver) as url:
            # https to a plain-HTTP receiver: the handshake fails
            hook = await db.webhook(url.replace("http://", "https://"))
            await db.enqueue()
            assert await db.deliverer(base_delay=60).deliver_due() == 1
        row = await db.only_delivery(hook)
        assert row.last_error == "TLS handshake failed" and row.last_status_code is None
        assert receiver.requests == []


async def test_large_answers_are_not_read(database: str) -> None:
    """Only the status counts: a receiver's answer beyond 64 KiB is not read, and a 2xx with
    one is still delivered."""
    too_big = WEBHOOK_MAX_ANSWER_BYTES + 1
    failing = Receiver(script=[(500, {})], answer_size=too_big)
    accepting = Receiver(answer_size=too_big)
    async with opened(database) as db:
        with receiving(failing) as fail_url, receiving(accepting) as ok_url:
            failed = await db.webhook(fail_url)
            delivered = await db.webhook(ok_url)
            await db.enqueue()
            assert await db.deliverer(base_delay=60).deliver_due() == 2
        row = await db.only_delivery(failed)
        assert row.status == "pending" and row.last_status_code == 500
        assert row.last_error == "answer too large (over 65,536 bytes)"
        row = await db.only_delivery(delivered)
        assert row.status == "delivered" and row.last_status_code == 200
        assert row.last_error is None


async def test_failed_after_max_attempts(database: str) -> None:
    receiver = Receiver(script=[(500, {})] * 10)
    async with opened(database) as db:
        with receiving(receiver) as url:
            hook = await db.webhook(url)
            await db.enqueue()
            deliverer = db.deliverer(base_delay=0.01, max_attempts=3)
            for _ in range(100):
                row = await db.only_delivery(hook)
                if row.status != "pending":
                    break
                await wait_until(row.next_attempt_at)
                await deliverer.deliver_due()
            assert await deliverer.deliver_due() == 0  # a failed delivery is never sent again
        row = await db.only_delivery(hook)
        assert row.status == "failed" and row.attempts == 3
        assert row.last_status_code == 500 and row.delivered_at is None
        assert row.last_error == "receiver answered HTTP 500"
        assert len(receiver.requests) == 3


async def test_inactive_webhook_gets_no_deliveries(database: str) -> None:
    receiver = Receiver()
    async with opened(database) as db:
        with receiving(receiver) as url:
            hook = await db.webhook(url, active=False)
            assert await db.enqueue() == 0
            assert await db.deliverer().deliver_due() == 0
            assert await db.deliveries(hook) == []

            # Deactivated with a delivery already queued: it waits, and goes once reactivated.
            await db.set_active(hook, True)
            assert await db.enqueue() == 1
            await db.set_active(hook, False)
            assert await db.deliverer().deliver_due() == 0
            assert receiver.requests == []
            await db.set_active(hook, True)
            assert await db.deliverer().deliver_due() == 1
        assert len(receiver.requests) == 1
        assert (await db.only_delivery(hook)).status == "delivered"


async def test_concurrent_deliverers_never_send_a_delivery_twice(database: str) -> None:
    receiver = Receiver(delay=0.02)
    async with opened(database) as db, opened(database) as other:
        with receiving(receiver) as url:
            hooks = [await db.webhook(url) for _ in range(4)]
            for n in range(10):
                assert await db.enqueue(f"op-{n}") == 4
            # Two deliverers with their own engines, as two worker processes would have.
            first, second = db.deliverer(), other.deliverer()
            counts: list[int] = []

            async def drain(deliverer: WebhookDeliverer) -> None:
                for _ in range(50):
                    sent = await deliverer.deliver_due(limit=7)
                    counts.append(sent)
                    if sent == 0:
                        return

            await asyncio.gather(drain(first), drain(second), drain(first), drain(second))

        sent_ids = [r.headers["webhook-id"] for r in receiver.requests]
        assert len(sent_ids) == 40 and len(set(sent_ids)) == 40
        assert sum(counts) == 40  # no delivery was claimed twice either
        for hook in hooks:
            rows = await db.deliveries(hook)
            assert len(rows) == 10
            assert {row.status for row in rows} == {"delivered"}
            assert {row.attempts for row in rows} == {1}

"""Completion webhooks: signatures, the outbox of deliveries, and the deliverer.

A delivery row is inserted in the same transaction as the event it reports (the caller's), so a
committed operation always has its notification queued and a rolled-back one never does.
Deliverers claim due rows under a short lease, POST them signed, and reschedule failures with
exponential backoff. Delivery is at least once: receivers dedupe on `X-Writeback-Delivery`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import orjson
from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from writeback.connectors.contract import ConnectorError
from writeback.connectors.http import HttpResponse, ProviderHttp, retry_after_seconds
from writeback.store.secrets import SecretBox, SecretKeyError
from writeback.store.tables import Webhook, WebhookDelivery, new_id, utcnow

__all__ = [
    "DELIVERY_HEADER",
    "EVENTS",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "TEST_EVENT",
    "WebhookDeliverer",
    "enqueue_test_delivery",
    "enqueue_webhooks",
    "sign",
    "verify_signature",
]

EVENTS: tuple[str, ...] = ("write.async.done",)
TEST_EVENT = "webhook.test"  # sent on request to one webhook only; nobody subscribes to it
SIGNATURE_HEADER = "X-Writeback-Signature"
EVENT_HEADER = "X-Writeback-Event"
DELIVERY_HEADER = "X-Writeback-Delivery"
DELIVERY_STATUSES = ("pending", "delivered", "failed")

JITTER = 0.2  # each backoff is stretched by up to 20% so failed receivers are not hit in step
LEASE_MARGIN_SECONDS = 60.0  # a claim outlives the send timeout by this much
MAX_ERROR_CHARS = 500

log = logging.getLogger("writeback.webhooks")

D = WebhookDelivery
W = Webhook


# -- signatures ---------------------------------------------------------------------------


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Writeback-Signature` value: `t=<unix seconds>,v1=<hex HMAC-SHA256(t + "." + body)>`.

    The timestamp is signed too, so a captured request cannot be replayed later with a new one.
    """
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def _parse_signature(header: str) -> tuple[int | None, list[str]]:
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)  # several v1 values are allowed (secret rotation)
    return timestamp, candidates


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> bool:
    """True when `header` signs exactly `body` with `secret` and its timestamp is recent."""
    timestamp, candidates = _parse_signature(header or "")
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = _mac(secret, timestamp, body).encode()
    # compare_digest on bytes: constant time, and no TypeError on non-ASCII input.
    return any(hmac.compare_digest(expected, candidate.encode()) for candidate in candidates)


# -- the outbox ---------------------------------------------------------------------------


def envelope(event: str, payload: dict[str, Any], operation_id: str | None) -> dict[str, Any]:
    """Ampersand's webhook shape: `{notificationType, data}`; data also names the operation."""
    data = dict(payload)
    if operation_id is not None:
        data.setdefault("operationId", operation_id)
    return {"notificationType": event, "data": data}


def _delivery_row(
    webhook_id: str, event: str, body: dict[str, Any], operation_id: str | None
) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": new_id(),
        "webhook_id": webhook_id,
        "operation_id": operation_id,
        "event": event,
        "payload": body,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "create_time": now,
    }


async def enqueue_webhooks(
    conn: AsyncConnection,
    project_id: str,
    event: str,
    payload: dict[str, Any],
    operation_id: str | None,
) -> int:
    """Queue `event` for every active webhook of the project subscribed to it.

    Runs in the caller's transaction and does not commit. Returns how many were queued.
    """
    rows = await conn.execute(
        select(W.id, W.events).where(W.project_id == project_id, W.active.is_(True))
    )
    # Subscriptions are filtered here: JSON containment differs between SQLite and PostgreSQL.
    targets = [webhook_id for webhook_id, events in rows if event in (events or ())]
    if not targets:
        return 0
    body = envelope(event, payload, operation_id)
    await conn.execute(
        insert(D.__table__),
        [_delivery_row(webhook_id, event, body, operation_id) for webhook_id in targets],
    )
    return len(targets)


async def enqueue_test_delivery(conn: AsyncConnection, webhook_id: str) -> str:
    """Queue a `webhook.test` ping for one webhook (in the caller's transaction); its id."""
    row = _delivery_row(
        webhook_id, TEST_EVENT, envelope(TEST_EVENT, {"message": "test"}, None), None
    )
    await conn.execute(insert(D.__table__), [row])
    return str(row["id"])


# -- the deliverer ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claimed:
    id: str
    event: str
    payload: dict[str, Any]
    attempts: int
    url: str
    secret_encrypted: str


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date."""
    seconds = retry_after_seconds(headers)
    if seconds is not None:
        return seconds
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - utcnow()).total_seconds())


def _answer(response: HttpResponse) -> _Outcome:
    if 200 <= response.status < 300:
        return _Outcome(response.status)
    snippet = response.text.strip()[:200]
    error = f"HTTP {response.status}" + (f": {snippet}" if snippet else "")
    return _Outcome(response.status, error, _retry_after(response.headers))


class WebhookDeliverer:
    """Sends due deliveries; safe to run in many processes against one database."""

    def __init__(
        self,
        engine: AsyncEngine,
        box: SecretBox,
        http: ProviderHttp,
        *,
        base_delay: float = 5.0,
        max_delay: float = 3600.0,
        max_attempts: int = 12,
        timeout: float = 10.0,
    ) -> None:
        self._engine = engine
        self._box = box
        self._http = http
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts
        self.timeout = timeout
        self._lease = timedelta(seconds=timeout + LEASE_MARGIN_SECONDS)

    def backoff(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the `attempts`-th failed attempt."""
        delay = self.base_delay * 2 ** (attempts - 1) * random.uniform(1.0, 1.0 + JITTER)
        delay = min(delay, self.max_delay)
        if retry_after is not None:  # the receiver asked for a pause: wait at least that long
            delay = max(delay, min(retry_after, self.max_delay))
        return delay

    async def deliver_due(self, limit: int = 50) -> int:
        """Claim up to `limit` due deliveries, send them concurrently, record the outcomes.

        Returns how many were attempted (0: nothing was due).
        """
        claimed = await self._claim(limit)
        if not claimed:
            return 0
        outcomes = await asyncio.gather(*(self._send(delivery) for delivery in claimed))
        await self._record(list(zip(claimed, outcomes, strict=True)))
        return len(claimed)

    async def _claim(self, limit: int) -> list[_Claimed]:
        now = utcnow()
        claimable = (
            D.status == "pending",
            D.next_attempt_at <= now,
            or_(D.lease_expires_at.is_(None), D.lease_expires_at <= now),
        )
        due = (
            select(D.id)
            .join(W, W.id == D.webhook_id)
            .where(*claimable, W.active.is_(True))  # an inactive webhook's deliveries wait
            .order_by(D.next_attempt_at)
            .limit(limit)
        )
        async with self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Concurrent claimers skip each other's rows instead of queueing behind them.
                due = due.with_for_update(of=D.__table__, skip_locked=True)
            # One UPDATE claims the rows: on SQLite it holds the write lock for the whole
            # statement, on PostgreSQL the rows locked above; the conditions are re-checked.
            claim = (
                update(D)
                .where(D.id.in_(due), *claimable)
                .values(lease_expires_at=now + self._lease)
                .returning(D.id, D.webhook_id, D.event, D.payload, D.attempts)
            )
            rows = (await conn.execute(claim)).all()
            if not rows:
                return []
            hooks = await conn.execute(
                select(W.id, W.url, W.secret_encrypted).where(
                    W.id.in_({row.webhook_id for row in rows})
                )
            )
            targets = {hook.id: (hook.url, hook.secret_encrypted) for hook in hooks}
        return [
            _Claimed(row.id, row.event, row.payload, row.attempts, *targets[row.webhook_id])
            for row in rows
            if row.webhook_id in targets
        ]

    async def _send(self, delivery: _Claimed) -> _Outcome:
        try:
            secret = self._box.decrypt(delivery.secret_encrypted)
        except SecretKeyError as exc:
            return _Outcome(error=str(exc))
        body = orjson.dumps(delivery.payload)
        headers = [
            (EVENT_HEADER, delivery.event),
            (DELIVERY_HEADER, delivery.id),
            (SIGNATURE_HEADER, sign(secret, int(time.time()), body)),
        ]
        try:
            # A Fragment is sent byte for byte, so the body sent is exactly the body signed.
            response = await asyncio.wait_for(
                self._http.request(
                    "POST", delivery.url, json=orjson.Fragment(body), headers=headers
                ),
                self.timeout,
            )
        except TimeoutError:
            return _Outcome(error=f"no answer within {self.timeout:g}s")
        except ConnectorError as exc:
            return _Outcome(error=exc.message)
        except Exception as exc:  # a malformed URL and the like: record it, keep the batch going
            return _Outcome(error=f"{exc.__class__.__name__}: {exc}")
        return _answer(response)

    async def _record(self, results: list[tuple[_Claimed, _Outcome]]) -> None:
        now = utcnow()
        async with self._engine.begin() as conn:
            for delivery, outcome in results:
                attempts = delivery.attempts + 1
                values: dict[str, Any] = {
                    "attempts": attempts,
                    "lease_expires_at": None,
                    "last_status_code": outcome.status_code,
                    "last_error": outcome.error[:MAX_ERROR_CHARS] if outcome.error else None,
                }
                if outcome.ok:
                    values.update(status="delivered", delivered_at=now)
                elif attempts >= self.max_attempts:
                    values["status"] = "failed"
                    log.warning(
                        "webhook delivery %s failed for good: %s", delivery.id, outcome.error
                    )
                else:
                    delay = self.backoff(attempts, outcome.retry_after)
                    values["next_attempt_at"] = now + timedelta(seconds=delay)
                    log.info(
                        "webhook delivery %s attempt %d failed (%s); retry in %.1fs",
                        delivery.id,
                        attempts,
                        outcome.error,
                        delay,
                    )
                # Guarded by status: a row someone else finished meanwhile is left alone.
                await conn.execute(
                    update(D).where(D.id == delivery.id, D.status == "pending").values(**values)
                )

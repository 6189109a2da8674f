"""Completion webhooks: signatures, the outbox of deliveries, and the deliverer.

A delivery row is inserted in the same transaction as the event it reports (the caller's), so a
committed operation always has its notification queued and a rolled-back one never does.
Deliverers claim due rows under a short lease, POST them signed per Standard Webhooks
(https://www.standardwebhooks.com/), and reschedule failures with exponential backoff. Delivery
is at least once: receivers dedupe on `webhook-id`, the delivery id.

What a delivery records as its error names the class of failure only: a receiver's body (or any
text it controls) never comes back through the API.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import errno
import hashlib
import hmac
import logging
import random
import secrets as _random
import socket
import ssl
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
from aiohttp.abc import AbstractResolver
from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from writeback.common.netguard import (
    GuardedResolver,
    TargetRefused,
    UnresolvableHost,
    check_literal,
    proxy_hosts,
)
from writeback.connectors.contract import ConnectorError
from writeback.connectors.http import (
    RESPONSE_TOO_LARGE,
    TIMED_OUT,
    HttpResponse,
    ProviderHttp,
    retry_after_seconds,
)
from writeback.settings import Settings
from writeback.store.secrets import SecretBox, SecretKeyError
from writeback.store.tables import Webhook, WebhookDelivery, new_id, utcnow

__all__ = [
    "DELIVERY_HEADER",
    "EVENTS",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "TEST_EVENT",
    "InvalidSecret",
    "WebhookDeliverer",
    "build_deliverer",
    "delivery_headers",
    "delivery_http",
    "enqueue_test_delivery",
    "enqueue_webhooks",
    "failure_class",
    "new_secret",
    "rotate_secret",
    "sign",
    "signing_key",
    "standard_signature",
    "validated_secret",
    "verify_signature",
]

EVENTS: tuple[str, ...] = ("write.async.done",)
TEST_EVENT = "webhook.test"  # sent on request to one webhook only; nobody subscribes to it
EVENT_HEADER = "X-Writeback-Event"
# Standard Webhooks headers
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
# Deprecated: writeback's signature scheme before Standard Webhooks, still sent so receivers
# written against it keep working (docs/webhooks.md)
SIGNATURE_HEADER = "X-Writeback-Signature"
DELIVERY_HEADER = "X-Writeback-Delivery"
DELIVERY_STATUSES = ("pending", "delivered", "failed")

SECRET_PREFIX = "whsec_"
MIN_KEY_BYTES = 24  # Standard Webhooks: keys of 24 to 64 bytes
MAX_KEY_BYTES = 64
NEW_KEY_BYTES = 32
DELIVERY_TIMEOUT = 10.0  # seconds for one attempt, connecting included
# Only the status of a receiver's answer matters; its body is never stored or shown. A larger
# answer is not read (a 2xx still counts as delivered).
WEBHOOK_MAX_ANSWER_BYTES = 64 * 1024

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


def legacy_signature(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    """The deprecated `X-Writeback-Signature` value with one `v1=` per secret."""
    return f"t={timestamp}," + ",".join(f"v1={_mac(s, timestamp, body)}" for s in secrets)


class InvalidSecret(ValueError):
    """A caller-supplied webhook secret is malformed; the message never contains it."""


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks format: `whsec_<base64 of 32 bytes>`."""
    return SECRET_PREFIX + base64.b64encode(_random.token_bytes(NEW_KEY_BYTES)).decode()


def _decoded_key(encoded: str) -> bytes | None:
    """The key bytes of the base64 part of a `whsec_` secret (padding optional), or None."""
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def validated_secret(secret: str) -> str:
    """`secret` if it is a `whsec_` secret of 24 to 64 key bytes; else InvalidSecret."""
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidSecret(
            f'must start with "{SECRET_PREFIX}" followed by the base64 of the key bytes'
        )
    key = _decoded_key(secret[len(SECRET_PREFIX) :])
    if key is None:
        raise InvalidSecret(f'the part after "{SECRET_PREFIX}" is not valid base64')
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise InvalidSecret(
            f"must hold {MIN_KEY_BYTES} to {MAX_KEY_BYTES} key bytes; it holds {len(key)}"
        )
    return secret


def signing_key(secret: str) -> bytes:
    """The HMAC key of a stored secret, as `standardwebhooks.Webhook(secret)` derives it.

    A `whsec_` secret's key is its base64-decoded part. A secret from before Standard Webhooks
    (any string of 16+ characters) signs with its UTF-8 bytes: receivers verify it with
    `Webhook(secret.encode())`, or rotate to a `whsec_` secret.
    """
    if secret.startswith(SECRET_PREFIX):
        key = _decoded_key(secret[len(SECRET_PREFIX) :])
        if key:
            return key
    return secret.encode()


def standard_signature(keys: Sequence[bytes], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` per key,
    separated by spaces (the first key is the current secret)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        for key in keys
    )


def delivery_headers(
    delivery_id: str, event: str, body: bytes, secrets: Sequence[str], timestamp: int
) -> list[tuple[str, str]]:
    """Every header a delivery carries; `secrets` signs in order (current, then previous)."""
    keys = [signing_key(secret) for secret in secrets]
    return [
        (ID_HEADER, delivery_id),  # the same on every retry: receivers dedupe on it
        (TIMESTAMP_HEADER, str(timestamp)),
        (STANDARD_SIGNATURE_HEADER, standard_signature(keys, delivery_id, timestamp, body)),
        (EVENT_HEADER, event),
        (DELIVERY_HEADER, delivery_id),  # deprecated
        (SIGNATURE_HEADER, legacy_signature(secrets, timestamp, body)),  # deprecated
    ]


def rotate_secret(
    hook: Webhook, box: SecretBox, secret: str, overlap: timedelta, now: datetime | None = None
) -> None:
    """Make `secret` the webhook's secret; the current one keeps signing until `overlap` ends.

    Only one previous secret is kept: rotating again within the window drops the oldest.
    """
    if overlap > timedelta(0):
        hook.previous_secret_encrypted = hook.secret_encrypted
        hook.previous_secret_expires_at = (now or utcnow()) + overlap
    else:
        hook.previous_secret_encrypted = None
        hook.previous_secret_expires_at = None
    hook.secret_encrypted = box.encrypt(secret)


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
class _Target:
    url: str
    secret_encrypted: str
    previous_secret_encrypted: str | None
    previous_secret_expires_at: datetime | None

    def encrypted_secrets(self, now: datetime) -> list[str]:
        """The secrets that sign a delivery sent `now`: the current one, then the previous
        one while its overlap window lasts."""
        signing = [self.secret_encrypted]
        expires = self.previous_secret_expires_at
        if self.previous_secret_encrypted and expires is not None and now < expires:
            signing.append(self.previous_secret_encrypted)
        return signing


@dataclass(frozen=True)
class _Claimed:
    id: str
    event: str
    payload: dict[str, Any]
    attempts: int
    target: _Target


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
    # The body is never recorded: it is the receiver's text, and lastError is shown to API
    # callers (who may not own the receiver).
    if 200 <= response.status < 300:
        return _Outcome(response.status)
    error = f"receiver answered HTTP {response.status}"
    if 300 <= response.status < 400:
        error += " (redirects are not followed)"
    return _Outcome(response.status, error, _retry_after(response.headers))


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and everything it wraps (causes, contexts, aiohttp's `os_error`)."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        implicit = None if current.__suppress_context__ else current.__context__
        pending += [
            current.__cause__ or implicit,
            getattr(current, "os_error", None),  # aiohttp's ClientConnectorError
            getattr(current, "certificate_error", None),  # ...CertificateError
        ]


def failure_class(exc: BaseException, timeout: float) -> str:
    """What went wrong with a delivery, by class only: never an exception's text, which may
    quote the receiver (a reason phrase, a fragment of a malformed answer)."""
    chain = list(_causes(exc))
    for cause in chain:
        if isinstance(cause, TargetRefused):
            return f"target address refused ({cause.kind}): {cause.target}"
    for cause in chain:
        if isinstance(cause, TimeoutError) or getattr(cause, "code", None) == TIMED_OUT:
            return f"timed out after {timeout:g}s"
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "TLS handshake failed (certificate not trusted)"
        if isinstance(cause, ssl.SSLError | ssl.CertificateError):
            return "TLS handshake failed"
    for cause in chain:
        if getattr(cause, "code", None) == RESPONSE_TOO_LARGE:
            return f"answer too large (over {WEBHOOK_MAX_ANSWER_BYTES:,} bytes)"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, UnresolvableHost | socket.gaierror):
            return "host name did not resolve"
        if isinstance(cause, ConnectionResetError | BrokenPipeError):
            return "connection closed before the answer"
    for cause in chain:
        if isinstance(cause, OSError) and cause.errno in errno.errorcode:
            return f"could not connect ({errno.errorcode[cause.errno]})"
    return f"delivery failed ({exc.__class__.__name__})"


def build_deliverer(engine: AsyncEngine, box: SecretBox, settings: Settings) -> WebhookDeliverer:
    """The worker's deliverer, with its own HTTP client: webhook receivers are not providers,
    and a slow one must not hold connections the provider calls need. Unless private targets
    are allowed, every connection it opens checks the addresses the name resolved to."""
    allowed = settings.private_webhook_targets_allowed
    # proxies from the environment are the operator's choice: their own address is not checked
    resolver = None if allowed else GuardedResolver(exempt=proxy_hosts())
    return WebhookDeliverer(engine, box, delivery_http(resolver), private_targets_allowed=allowed)


def delivery_http(resolver: AbstractResolver | None = None) -> ProviderHttp:
    """The HTTP client deliveries use: short timeout, small answers; `resolver` checks the
    addresses of every connection (None: aiohttp's, unchecked)."""
    return ProviderHttp(
        total_timeout=DELIVERY_TIMEOUT,
        max_response_bytes=WEBHOOK_MAX_ANSWER_BYTES,
        resolver=resolver,
    )


class WebhookDeliverer:
    """Sends due deliveries; safe to run in many processes against one database."""

    def __init__(
        self,
        engine: AsyncEngine,
        box: SecretBox,
        http: ProviderHttp,
        *,
        private_targets_allowed: bool = False,
        base_delay: float = 5.0,
        max_delay: float = 3600.0,
        max_attempts: int = 12,
        timeout: float = DELIVERY_TIMEOUT,
    ) -> None:
        """`http` must check resolved addresses itself (a `GuardedResolver`) unless
        `private_targets_allowed`; IP literals in URLs are checked here."""
        self._engine = engine
        self._box = box
        self._http = http
        self.private_targets_allowed = private_targets_allowed
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts
        self.timeout = timeout
        self._lease = timedelta(seconds=timeout + LEASE_MARGIN_SECONDS)

    async def close(self) -> None:
        """Close the deliverer's HTTP client."""
        await self._http.close()

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
                select(
                    W.id,
                    W.url,
                    W.secret_encrypted,
                    W.previous_secret_encrypted,
                    W.previous_secret_expires_at,
                ).where(W.id.in_({row.webhook_id for row in rows}))
            )
            targets = {hook.id: _Target(*hook[1:]) for hook in hooks}
        return [
            _Claimed(row.id, row.event, row.payload, row.attempts, targets[row.webhook_id])
            for row in rows
            if row.webhook_id in targets
        ]

    async def _send(self, delivery: _Claimed) -> _Outcome:
        target = delivery.target
        try:
            signing = [self._box.decrypt(s) for s in target.encrypted_secrets(utcnow())]
        except SecretKeyError as exc:
            return _Outcome(error=str(exc))
        if not self.private_targets_allowed:
            try:  # aiohttp resolves no IP literal, so its resolver never sees these
                check_literal(urlsplit(target.url).hostname or "")
            except TargetRefused as exc:
                return _Outcome(error=failure_class(exc, self.timeout))
        body = orjson.dumps(delivery.payload)
        headers = delivery_headers(delivery.id, delivery.event, body, signing, int(time.time()))
        try:
            # A Fragment is sent byte for byte, so the body sent is exactly the body signed.
            response = await asyncio.wait_for(
                self._http.request("POST", target.url, json=orjson.Fragment(body), headers=headers),
                self.timeout,
            )
        except ConnectorError as exc:
            if exc.code == RESPONSE_TOO_LARGE and exc.status and 200 <= exc.status < 300:
                return _Outcome(exc.status)  # accepted: what it said beyond that is unread
            return _Outcome(exc.status, failure_class(exc, self.timeout))
        except Exception as exc:  # a refused address, a malformed URL...: record, keep going
            return _Outcome(error=failure_class(exc, self.timeout))
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

"""`Idempotency-Key` on the Write API, with Stripe's semantics.

A key belongs to a project. The first request with a key claims it: a row (`running`, a claim
token, a lease) is committed before the write starts. The write's first durable record (the
asynchronous accept, the synchronous write's intent, or the plain record of a write that made
no provider call) sets the row's `operation_id` in the same transaction (`on_operation`), and
the write's answer is stored when it comes. Later requests with the key:

- the same request (method, path, canonical body), answered → the stored answer, replayed;
- a different request → `IdempotencyConflict` (422);
- the same request, still running → wait a while for its answer; then `IdempotencyInProgress`
  (409, Retry-After);
- the first one's process died (lease over): if its operation exists, the write goes on
  without it (a worker completes it) → 409 naming the operation; if not, nothing was written
  and this request takes the key over.

Answers where nothing was recorded (the request was invalid, the target unknown, the database
unavailable) are not stored: the key is released, so it can be sent again. Keys are forgotten
`idempotency_hours` after their first use (the janitor deletes them).

Nothing here speaks HTTP: the API layer validates the header (`parse_key`), fingerprints the
request (`request_fingerprint`) and renders errors (`render`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from writeback.operations.delivery import OperationHook, WriteReply
from writeback.store.committer import GroupCommitter
from writeback.store.errors import StoreUnavailable, is_unavailable
from writeback.store.tables import IdempotencyKey, new_id
from writeback.writes.errors import (
    FieldIssue,
    IdempotencyConflict,
    IdempotencyInProgress,
    IdempotencyInterrupted,
    InvalidWrite,
    WriteError,
)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
LEASE_SECONDS = 60.0  # a claim not renewed for this long belongs to a process that died
WAIT_SECONDS = 10.0  # how long a duplicate waits for the first request's answer
IN_PROGRESS_RETRY_AFTER = 2.0  # Retry-After when it is still running after that

log = logging.getLogger("writeback.api")
_KEY_REMEDY = (
    f"Send one {HEADER} of 1 to {MAX_KEY_LENGTH} printable ASCII characters (a UUID is a good"
    " choice), or none."
)


def parse_key(values: Sequence[str | bytes]) -> str | None:
    """The request's key from its `Idempotency-Key` header values (None: no header)."""
    if not values:
        return None
    if len(values) > 1:
        raise _bad_key(f"{len(values)} {HEADER} headers were sent")
    raw = values[0]
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    if not text:
        raise _bad_key("the key is empty")
    if len(text) > MAX_KEY_LENGTH:
        raise _bad_key(f"the key is {len(text)} characters long; at most {MAX_KEY_LENGTH}")
    if not all(" " <= c <= "~" for c in text):
        raise _bad_key("the key may hold only printable ASCII characters")
    return text


def _bad_key(detail: str) -> InvalidWrite:
    return InvalidWrite(
        f"{HEADER}: {detail}.",
        remedy=_KEY_REMEDY,
        issues=[FieldIssue("header", HEADER, detail, remedy=_KEY_REMEDY)],
    )


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """What identifies a request under a key: method, path and body, with the body's JSON
    canonicalised (key order and spacing do not matter); a body that is not JSON as sent."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _KeyTakenOver(Exception):
    """The key's row was claimed by another request (this one's lease ran out)."""


@dataclass
class _Seen:
    """What the key's row said when a request looked at it."""

    state: Literal["claimed", "done", "running", "orphaned", "conflict", "retry"]
    row_id: str | None = None
    token: str | None = None
    answer: WriteReply | None = None
    operation_id: str | None = None


Write = Callable[[OperationHook], Awaitable[WriteReply]]
Render = Callable[[WriteError], WriteReply]


class IdempotentWrites:
    """Runs writes under an Idempotency-Key. Database writes go through the group committer;
    waiting for another request's answer reads through `engine`."""

    def __init__(
        self,
        committer: GroupCommitter,
        engine: AsyncEngine,
        *,
        hours: float,
        lease_seconds: float | None = None,
        wait_seconds: float | None = None,
    ) -> None:
        self.committer = committer
        self.engine = engine
        self.keep = timedelta(hours=hours)
        self.lease = timedelta(seconds=lease_seconds or LEASE_SECONDS)
        self.wait_seconds = WAIT_SECONDS if wait_seconds is None else wait_seconds

    async def run(
        self,
        project_id: str,
        key: str,
        fingerprint: str,
        write: Write,
        *,
        render: Render,
        answer_at_accept: bool = False,
    ) -> WriteReply:
        """The answer to a write sent with `key`: the stored one (with `Idempotent-Replayed:
        true`), or `write(on_operation)`'s, stored. `render` turns a domain error that
        happened after the write was recorded into the answer to store; `answer_at_accept`
        (asynchronous writes) stores `200 {"operationId"}` in the accept's own transaction."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_seconds
        while True:
            try:
                seen = await self.committer.run(self._look(project_id, key, fingerprint))
            except IntegrityError:  # another process inserted the key first: look again
                seen = _Seen("retry")
            if seen.state == "claimed":
                return await self._execute(seen, write, render, answer_at_accept)
            if seen.state == "done":
                assert seen.answer is not None
                return seen.answer
            if seen.state == "conflict":
                raise IdempotencyConflict(
                    f"{HEADER} {key!r} was already used with a different request (another"
                    " path or body); a key identifies one request.",
                    remedy="Use a new Idempotency-Key for a new request; send the same key"
                    " again only to retry the same request.",
                    issues=[
                        FieldIssue(
                            "header",
                            HEADER,
                            "already used with a different request",
                            key,
                            remedy="Use a new Idempotency-Key for a new request.",
                        )
                    ],
                )
            if seen.state == "orphaned":
                operation = seen.operation_id
                raise IdempotencyInterrupted(
                    f"The first request with {HEADER} {key!r} recorded write operation"
                    f" {operation} and was interrupted before answering. The write goes on"
                    " without it (a worker completes it), so it is not started again.",
                    remedy=f"Follow the write with GET /v1/projects/{project_id}/operations/"
                    f"{operation}; use a new Idempotency-Key only for a new write.",
                    context={"operationId": operation},
                    code="idempotent_request_interrupted",
                )
            if seen.state == "running":
                await self._wait(project_id, key, deadline)
            else:  # "retry": the row changed under us
                await asyncio.sleep(0.01)

    # --- looking at the key -------------------------------------------------------------

    def _look(self, project_id: str, key: str, fingerprint: str) -> Any:
        """One transaction: claim the key if it is free (absent, expired, or abandoned before
        anything was recorded), else say what it holds."""
        table = IdempotencyKey

        async def unit(conn: AsyncConnection) -> _Seen:
            now = _utcnow()
            row = (
                await conn.execute(
                    select(table).where(table.project_id == project_id, table.key == key)
                )
            ).first()
            token = secrets.token_hex(16)
            claim = {
                "claim_token": token,
                "lease_expires_at": now + self.lease,
                "status": "running",
            }
            if row is None:
                row_id = new_id()
                await conn.execute(
                    insert(table).values(
                        id=row_id,
                        project_id=project_id,
                        key=key,
                        request_hash=fingerprint,
                        create_time=now,
                        expires_at=now + self.keep,
                        **claim,
                    )
                )
                return _Seen("claimed", row_id, token)
            fence = (
                table.id == row.id,
                table.claim_token == row.claim_token,
                table.status == row.status,
            )
            if _expired(row, now):  # forgotten: the key is new again
                replaced = await conn.execute(
                    update(table)
                    .where(*fence)
                    .values(
                        request_hash=fingerprint,
                        response_status=None,
                        response_headers=None,
                        response_body=None,
                        operation_id=None,
                        create_time=now,
                        expires_at=now + self.keep,
                        **claim,
                    )
                )
                return _Seen("claimed", row.id, token) if replaced.rowcount else _Seen("retry")
            if row.request_hash != fingerprint:
                return _Seen("conflict")
            if row.status == "done":
                return _Seen("done", answer=_replay(row))
            if row.lease_expires_at is not None and row.lease_expires_at > now:
                return _Seen("running")
            if row.operation_id is not None:
                return _Seen("orphaned", operation_id=row.operation_id)
            # its process died before anything was recorded: nothing was written, take over
            taken = await conn.execute(
                update(table).where(*fence, table.operation_id.is_(None)).values(**claim)
            )
            return _Seen("claimed", row.id, token) if taken.rowcount else _Seen("retry")

        return unit

    async def _wait(self, project_id: str, key: str, deadline: float) -> None:
        """Until the key's row is no longer a live claim (answered, released, abandoned), or
        `deadline`: then IdempotencyInProgress."""
        loop = asyncio.get_running_loop()
        delay = 0.02
        table = IdempotencyKey
        query = select(table.status, table.lease_expires_at).where(
            table.project_id == project_id, table.key == key
        )
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise IdempotencyInProgress(
                    f"A request with {HEADER} {key!r} is still running; its answer did not"
                    f" come within {self.wait_seconds:g}s.",
                    retry_after=IN_PROGRESS_RETRY_AFTER,
                    remedy="Send the same request again after Retry-After: it gets the first"
                    " request's answer once there is one.",
                )
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.5)
            try:
                async with self.engine.connect() as conn:
                    row = (await conn.execute(query)).first()
            except Exception as exc:
                if is_unavailable(exc):
                    raise StoreUnavailable(f"database unavailable: {exc}") from exc
                raise
            if row is None or row.status != "running":
                return
            if row.lease_expires_at is None or row.lease_expires_at <= _utcnow():
                return

    # --- running the write under a claim ------------------------------------------------

    async def _execute(
        self, claim: _Seen, write: Write, render: Render, answer_at_accept: bool
    ) -> WriteReply:
        assert claim.row_id is not None and claim.token is not None
        table = IdempotencyKey
        mine = (table.id == claim.row_id, table.claim_token == claim.token)
        tied: list[str] = []

        async def on_operation(conn: AsyncConnection, operation_id: str) -> None:
            values: dict[str, Any] = {"operation_id": operation_id}
            if answer_at_accept:  # the answer is the operation id: durable with the accept
                values.update(
                    status="done",
                    response_status=200,
                    response_headers={},
                    response_body={"operationId": operation_id},
                    lease_expires_at=None,
                )
            updated = await conn.execute(
                update(table).where(*mine, table.status == "running").values(**values)
            )
            if not updated.rowcount:
                raise _KeyTakenOver(claim.row_id)
            tied.append(operation_id)

        renewing = asyncio.get_running_loop().create_task(self._renew(claim))
        try:
            reply = await write(on_operation)
        except WriteError as error:
            operation_id = (error.context or {}).get("operationId")
            if not operation_id:  # nothing was recorded: the key is free again
                await self._release(claim)
                raise
            reply = render(error)
            reply.operation_id = operation_id
        except StoreUnavailable:
            self.committer.run_in_background(self._delete(claim))  # the database is away
            raise
        except _KeyTakenOver:
            raise IdempotencyInProgress(
                f"Another request with this {HEADER} took the key over while this one was"
                " waiting for the database; nothing was written by this one.",
                retry_after=IN_PROGRESS_RETRY_AFTER,
                remedy="Send the same request again after Retry-After: it gets the other"
                " request's answer.",
            ) from None
        except BaseException:
            # unexpected: end the claim now; the row's operation_id says whether a write
            # exists (later requests get 409 naming it) or not (they take the key over)
            self.committer.run_in_background(self._end_lease(claim))
            raise
        finally:
            renewing.cancel()
        if (
            answer_at_accept
            and reply.status == 200
            and tied
            and reply.body == {"operationId": tied[-1]}
        ):
            return reply  # stored with the accept
        await self._store(claim, reply)
        return reply

    async def _store(self, claim: _Seen, reply: WriteReply) -> None:
        """The answer, kept for replays. A write happened: this must not be lost, so it goes
        on in the background if the database is away longer than the committer's timeout."""
        values: dict[str, Any] = {
            "status": "done",
            "response_status": reply.status,
            "response_headers": dict(reply.headers),
            "response_body": reply.body,
            "lease_expires_at": None,
        }
        if reply.operation_id is not None:
            values["operation_id"] = reply.operation_id
        statement = (
            update(IdempotencyKey)
            .where(IdempotencyKey.id == claim.row_id, IdempotencyKey.claim_token == claim.token)
            .values(**values)
        )

        async def unit(conn: AsyncConnection) -> None:
            await conn.execute(statement)

        try:
            await self.committer.wait_or_leave(self.committer.run_until_done(unit))
        except Exception:  # the write happened: its answer still goes to the caller
            log.exception("could not store the answer of an idempotent write")

    async def _release(self, claim: _Seen) -> None:
        unit = self._delete(claim)
        try:
            await self.committer.run(unit)
        except Exception:
            self.committer.run_in_background(unit)

    def _delete(self, claim: _Seen) -> Any:
        statement = delete(IdempotencyKey).where(
            IdempotencyKey.id == claim.row_id, IdempotencyKey.claim_token == claim.token
        )

        async def unit(conn: AsyncConnection) -> None:
            await conn.execute(statement)

        return unit

    def _end_lease(self, claim: _Seen) -> Any:
        async def unit(conn: AsyncConnection) -> None:
            await conn.execute(
                update(IdempotencyKey)
                .where(
                    IdempotencyKey.id == claim.row_id,
                    IdempotencyKey.claim_token == claim.token,
                    IdempotencyKey.status == "running",
                )
                .values(lease_expires_at=_utcnow())
            )

        return unit

    async def _renew(self, claim: _Seen) -> None:
        """Keep the claim while the write runs (a slow provider is not a dead process)."""
        every = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)

            async def unit(conn: AsyncConnection) -> None:
                await conn.execute(
                    update(IdempotencyKey)
                    .where(
                        IdempotencyKey.id == claim.row_id,
                        IdempotencyKey.claim_token == claim.token,
                        IdempotencyKey.status == "running",
                    )
                    .values(lease_expires_at=_utcnow() + self.lease)
                )

            try:
                await self.committer.run(unit)
            except Exception as exc:  # the next round tries again
                log.warning("could not renew an Idempotency-Key claim: %s", exc)


def _expired(row: Any, now: datetime) -> bool:
    """Past `expires_at`, unless a live request still holds it."""
    if row.expires_at > now:
        return False
    live = row.status == "running" and (
        row.lease_expires_at is not None and row.lease_expires_at > now
    )
    return not live


def _replay(row: Any) -> WriteReply:
    headers = {str(k): str(v) for k, v in (row.response_headers or {}).items()}
    headers[REPLAYED_HEADER] = "true"
    return WriteReply(row.response_status, row.response_body, headers, row.operation_id)

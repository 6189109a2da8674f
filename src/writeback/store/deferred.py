"""Writes deferred to the end of a group commit, so that everything the units of one commit
write goes out in a few statements: one executemany per table for inserts, one per shape for
updates by id, and one UPDATE … RETURNING for each group of fenced changes that set the same
values. On SQLite every statement is a round trip to the driver's thread, and each costs
SQLAlchemy a cache-key walk: a write's records used to be a dozen statements, now they are a
share of five.

A fenced change ("set these values on row R if its fence column still holds T") answers per
row whether it held; what depends on it (`then`) runs only where it did.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Table, bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from writeback.store.tables import (
    AutoBatchItem,
    Connection,
    Installation,
    Operation,
    OperationAttempt,
    OperationLog,
    WriteJob,
)

# Deferred inserts are written in this order, parents before children.
_INSERT_ORDER: tuple[Table, ...] = (
    Operation.__table__,  # type: ignore[assignment]
    WriteJob.__table__,  # type: ignore[assignment]
    OperationAttempt.__table__,  # type: ignore[assignment]
    AutoBatchItem.__table__,  # type: ignore[assignment]
    OperationLog.__table__,  # type: ignore[assignment]
)
KEYS = ("wb_fenced", "wb_inserts", "wb_updates", "wb_installations", "wb_working")


class CommitTime:
    """A value meaning "the time of this commit": fenced changes that set it can share one
    statement."""


COMMIT_TIME = CommitTime()


@dataclass
class Verdict:
    """Whether a fenced change held: known once the commit's deferred writes ran."""

    held: bool | None = None


Then = Callable[[AsyncConnection], Awaitable[None]]


@dataclass
class _Fenced:
    row_id: str
    token: str
    then: Then | None
    verdict: Verdict = field(default_factory=Verdict)


def defer_insert(conn: AsyncConnection, table: Table, row: dict[str, Any]) -> None:
    """Insert `row` when the shared transaction ends."""
    conn.info.setdefault("wb_inserts", {}).setdefault(table, []).append(row)


def defer_update(conn: AsyncConnection, table: Table, row_id: str, values: dict[str, Any]) -> None:
    """UPDATE the row whose `id` is `row_id` when the shared transaction ends (rows setting the
    same columns share one executemany)."""
    shape = (table, tuple(sorted(values)))
    conn.info.setdefault("wb_updates", {}).setdefault(shape, []).append((row_id, values))


def defer_fenced(
    conn: AsyncConnection,
    table: Table,
    row_id: str,
    fence: Column[Any],
    token: str,
    values: dict[str, Any],
    *,
    where: tuple[Any, ...] = (),
    then: Then | None = None,
) -> Verdict:
    """Set `values` on row `row_id` only if its `fence` column still holds `token` (and
    `where`, the same objects for every change of its group); `then` runs only if it held.
    Tokens must be unique to their row. Values are plain (hashable) or COMMIT_TIME, so that
    changes setting the same ones share a statement."""
    shape = (table, fence, tuple(sorted(values.items(), key=lambda item: item[0])), where)
    change = _Fenced(row_id, token, then)
    conn.info.setdefault("wb_fenced", {}).setdefault(shape, []).append(change)
    return change.verdict


def defer_status(
    conn: AsyncConnection,
    *,
    installation: tuple[str, str] | None = None,
    working_connection: str | None = None,
) -> None:
    """Installation and connection statuses, applied once per commit (the last one wins)."""
    if installation is not None:
        conn.info.setdefault("wb_installations", {})[installation[0]] = installation[1]
    if working_connection is not None:
        conn.info.setdefault("wb_working", set()).add(working_connection)


async def flush(conn: AsyncConnection) -> None:
    """Write everything deferred by the units of this commit."""
    moment = datetime.now(UTC)
    fenced: dict[Any, list[_Fenced]] = conn.info.pop("wb_fenced", {})
    for (table, fence, items, where), changes in fenced.items():
        values = {k: moment if isinstance(v, CommitTime) else v for k, v in items}
        # a token belongs to one row only, so "id in ids and token in tokens" matches exactly
        # the rows whose own token still holds (RETURNING shows values after the change, and
        # the change may clear the token)
        held = set(
            (
                await conn.execute(
                    update(table)
                    .where(
                        table.c.id.in_([c.row_id for c in changes]),
                        fence.in_([c.token for c in changes]),
                        *where,
                    )
                    .values(**values)
                    .returning(table.c.id)
                    .execution_options(synchronize_session=False)
                )
            ).scalars()
        )
        for change in changes:
            change.verdict.held = change.row_id in held
            if change.verdict.held and change.then is not None:
                await change.then(conn)
    inserts: dict[Table, list[dict[str, Any]]] = conn.info.pop("wb_inserts", {})
    for table in _INSERT_ORDER:
        if inserts.get(table):
            await conn.execute(insert(table), inserts[table])
    updates: dict[Any, list[tuple[str, dict[str, Any]]]] = conn.info.pop("wb_updates", {})
    for (table, columns), rows in updates.items():
        statement = (
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values({c: bindparam(f"new_{c}", type_=table.c[c].type) for c in columns})
        )
        await conn.execute(
            statement,
            [{"row_id": row_id, **{f"new_{c}": v[c] for c in columns}} for row_id, v in rows],
        )
    for installation_id, status in conn.info.pop("wb_installations", {}).items():
        await conn.execute(
            update(Installation)
            .where(
                Installation.id == installation_id,
                Installation.last_operation_status.is_distinct_from(status),
            )
            .values(last_operation_status=status)
        )
    for connection_id in conn.info.pop("wb_working", set()):
        await conn.execute(
            update(Connection)
            .where(Connection.id == connection_id, Connection.status != "working")
            .values(status="working")
        )

"""Master key rotation: re-encrypt every stored secret with the first key, and count which
key encrypts what.

Encrypted columns are found by name (every `*_encrypted` column of the schema), so a new one
is rotated without a change here. Rows are read in primary-key order, a batch per
transaction; each value is replaced only if it is still the one that was read (a process that
rewrote it meanwhile wrote it with its own first key). Stopping half-way loses nothing: values
not yet rotated still decrypt with the old key, and a re-run continues where it is needed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Table, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from writeback.store.secrets import SecretBox, SecretKeyError
from writeback.store.tables import Base


def encrypted_columns() -> list[tuple[Table, list[Column[Any]]]]:
    found = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if c.name.endswith("_encrypted")]
        if columns:
            (key,) = table.primary_key.columns  # every such table has a one-column key
            assert key is not None
            found.append((table, columns))
    return found


@dataclass
class RotationReport:
    reencrypted: Counter[str] = field(default_factory=Counter)  # "table.column" -> values
    changed_meanwhile: int = 0  # rewritten by another process while rotating: run again
    undecryptable: list[str] = field(default_factory=list)  # "table.column id=..."


async def _batches(
    engine: AsyncEngine, table: Table, columns: list[Column[Any]], batch_size: int, todo: Any = None
) -> AsyncIterator[list[Any]]:
    (key,) = table.primary_key.columns
    last = None
    while True:
        query = select(key, *columns).order_by(key).limit(batch_size)
        if last is not None:
            query = query.where(key > last)
        if todo is not None:
            query = query.where(todo)
        async with engine.connect() as conn:
            rows = list((await conn.execute(query)).all())
        if not rows:
            return
        yield rows
        last = rows[-1][0]
        if len(rows) < batch_size:
            return


async def rotate(engine: AsyncEngine, box: SecretBox, *, batch_size: int = 200) -> RotationReport:
    """Re-encrypt every stored secret that is not yet encrypted with the first key."""
    report = RotationReport()
    for table, columns in encrypted_columns():
        (key,) = table.primary_key.columns
        # only rows with something to do are read: a re-run after a finished rotation is cheap
        todo = or_(
            *(
                and_(c.is_not(None), ~c.startswith(box.current_prefix, autoescape=True))
                for c in columns
            )
        )
        async for rows in _batches(engine, table, columns, batch_size, todo):
            async with engine.begin() as conn:
                for row in rows:
                    for column, value in zip(columns, row[1:], strict=True):
                        name = f"{table.name}.{column.name}"
                        if value is None or box.is_current(value):
                            continue
                        try:
                            fresh = box.reencrypt(value)
                        except SecretKeyError:
                            report.undecryptable.append(f"{name} {key.name}={row[0]}")
                            continue
                        result = await conn.execute(
                            table.update()
                            .where(key == row[0], column == value)
                            .values({column.name: fresh})
                        )
                        if result.rowcount:
                            report.reencrypted[name] += 1
                        else:
                            report.changed_meanwhile += 1
    return report


@dataclass
class KeyUsage:
    by_key: Counter[str] = field(default_factory=Counter)  # key id -> values it encrypts
    by_column: dict[str, Counter[str]] = field(default_factory=dict)
    undecryptable: int = 0  # old-format values no configured key decrypts


async def key_usage(engine: AsyncEngine, box: SecretBox, *, batch_size: int = 1000) -> KeyUsage:
    """How many stored values each key id encrypts (old `wbenc1:` values are attributed by
    trying the configured keys)."""
    usage = KeyUsage()
    for table, columns in encrypted_columns():
        async for rows in _batches(engine, table, columns, batch_size):
            for row in rows:
                for column, value in zip(columns, row[1:], strict=True):
                    if value is None:
                        continue
                    kid = box.key_id_of(value)
                    if kid is None:
                        usage.undecryptable += 1
                        continue
                    usage.by_key[kid] += 1
                    name = f"{table.name}.{column.name}"
                    usage.by_column.setdefault(name, Counter())[kid] += 1
    return usage

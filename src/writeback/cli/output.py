"""Printing results: JSON for scripts (`--json`), Rich tables for people."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def emit_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=False))


def dig(item: dict[str, Any], path: str) -> Any:
    value: Any = item
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def emit(data: Any, as_json: bool, columns: list[tuple[str, str]], title: str = "") -> None:
    """Print one item or a list: raw JSON, or a table of the given (header, dotted path) columns."""
    if as_json:
        emit_json(data)
        return
    rows = data if isinstance(data, list) else [data]
    table = Table(title=title or None)
    for header, _ in columns:
        table.add_column(header, overflow="fold")
    for item in rows:
        table.add_row(*("" if dig(item, p) is None else str(dig(item, p)) for _, p in columns))
    console.print(table)

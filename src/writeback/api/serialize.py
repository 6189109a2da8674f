"""Shared JSON shaping for API responses (camelCase, RFC 3339 times)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def ts(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def compact(data: dict[str, Any]) -> dict[str, Any]:
    """Drop keys whose value is None, as the Ampersand API omits unset optional fields."""
    return {key: value for key, value in data.items() if value is not None}


def times(row: Any) -> dict[str, Any]:
    return {"createTime": ts(row.create_time), "updateTime": ts(getattr(row, "update_time", None))}

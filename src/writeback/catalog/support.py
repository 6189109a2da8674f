"""Builders for the `Support` part of a ProviderInfo (catalog.yaml `Support`).

They return plain JSON-shaped dicts so the catalog can be served as-is by the API.
"""

from __future__ import annotations

from typing import Any

# The five action kinds a manifest can use, as named in `Support`.
ACTIONS: tuple[str, ...] = ("read", "write", "delete", "proxy", "subscribe")

BATCH_KINDS: tuple[str, ...] = ("create", "update", "upsert", "delete")
BULK_KINDS: tuple[str, ...] = ("insert", "update", "upsert", "delete")


def batch_write(limits: dict[str, int]) -> dict[str, Any]:
    """`BatchWriteSupport`: kinds in `limits` are supported with that default record limit."""
    result: dict[str, Any] = {}
    for kind in BATCH_KINDS:
        if kind in limits:
            result[kind] = {
                "supported": True,
                "defaultRecordLimit": limits[kind],
                "objectRecordLimits": {},
            }
        else:
            result[kind] = {"supported": False}
    return result


def bulk_write(supported: set[str]) -> dict[str, bool]:
    """`BulkWriteSupport`: true for each kind in `supported`."""
    return {kind: kind in supported for kind in BULK_KINDS}


def support(
    *,
    actions: set[str],
    bulk: set[str],
    batch_limits: dict[str, int],
    search_equals: bool,
) -> dict[str, Any]:
    """A full `Support` object; every key the schema marks required is present."""
    unknown = actions - set(ACTIONS)
    if unknown:
        raise ValueError(f"unknown actions: {sorted(unknown)}")
    result: dict[str, Any] = {action: action in actions for action in ACTIONS}
    result["bulkWrite"] = bulk_write(bulk)
    result["batchWrite"] = batch_write(batch_limits)
    result["search"] = {"operators": {"equals": search_equals}}
    return result

"""Per-tenant settings of the HubSpot emulator: defaults, and their checked, typed form.

Each setting that picks between two behaviours exists because the real behaviour is not
certain (research/providers.md Part E); the default is the most likely one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from writeback.sandbox.tenants import SettingsError

DEFAULT_SETTINGS: dict[str, Any] = {
    # Portal id; None = a random 8-digit id chosen when the tenant is created.
    "hubId": None,
    "accessTokenSeconds": 1800,
    # "oauth": OAuth access tokens (CJ...), 30 min; "private_app": pat-na1-... tokens that
    # do not expire and get the Daily rate-limit headers.
    "tokenStyle": "oauth",
    # "off" keeps the sandbox out of the way of benchmarks (no counting, no headers, no 429);
    # "on" enforces the two windows below and sends X-HubSpot-RateLimit-* headers.
    "rateLimits": "off",
    "tenSecondlyLimit": 190,
    "dailyLimit": 1_000_000,
    # batch/create with a conflicting item: "auto" = 207 per item when every input carries
    # objectWriteTraceId, else 409 for the whole batch; "per_item"; "whole_batch".
    "batchCreateConflict": "auto",
    # DELETE /crm/v3/objects/{type}/{id} of an unknown id: 204 (idempotent) or 404.
    "archiveMissingStatus": 204,
    # Body of a GET 404 for an unknown record: "json" envelope or "empty".
    "notFoundBody": "json",
    # A duplicate value of a hasUniqueValue property other than contact email:
    # "conflict" = 409 CONFLICT like email; "validation" = 400 VALIDATION_ERROR.
    "uniqueValueConflict": "conflict",
}

_CHOICES: dict[str, tuple[Any, ...]] = {
    "tokenStyle": ("oauth", "private_app"),
    "rateLimits": ("off", "on"),
    "batchCreateConflict": ("auto", "per_item", "whole_batch"),
    "archiveMissingStatus": (204, 404),
    "notFoundBody": ("json", "empty"),
    "uniqueValueConflict": ("conflict", "validation"),
}


@dataclass(frozen=True)
class PortalSettings:
    hub_id: int
    access_token_seconds: float
    token_style: str
    rate_limits: bool
    ten_secondly_limit: int
    daily_limit: int
    batch_create_conflict: str
    archive_missing_status: int
    not_found_body: str
    unique_value_conflict: str


def _positive_int(raw: dict[str, Any], name: str) -> int:
    value = raw[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SettingsError(f"hubspot setting {name} must be an integer >= 1, got {value!r}")
    return value


def parse_settings(raw: dict[str, Any]) -> PortalSettings:
    """Check a tenant's settings dict; SettingsError names the bad one."""
    for name, allowed in _CHOICES.items():
        if raw[name] not in allowed:
            raise SettingsError(f"hubspot setting {name} must be one of {list(allowed)}")
    seconds = raw["accessTokenSeconds"]
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
        raise SettingsError("hubspot setting accessTokenSeconds must be a number > 0")
    return PortalSettings(
        hub_id=_positive_int(raw, "hubId"),
        access_token_seconds=float(seconds),
        token_style=raw["tokenStyle"],
        rate_limits=raw["rateLimits"] == "on",
        ten_secondly_limit=_positive_int(raw, "tenSecondlyLimit"),
        daily_limit=_positive_int(raw, "dailyLimit"),
        batch_create_conflict=raw["batchCreateConflict"],
        archive_missing_status=raw["archiveMissingStatus"],
        not_found_body=raw["notFoundBody"],
        unique_value_conflict=raw["uniqueValueConflict"],
    )

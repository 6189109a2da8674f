"""Tenant settings of a Salesforce org, with defaults.

Where the real API's behaviour is uncertain (providers.md Part E), the answer is a setting
whose default is the most likely one; docs/sandbox-salesforce.md explains each.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

API_VERSIONS = [f"{major}.0" for major in range(31, 68)]  # Summer '14 .. Summer '26

DEFAULT_SETTINGS: dict[str, Any] = {
    # Part E 1: status of a collection call that failed under allOrNone (docs: 200).
    "allOrNoneFailureStatus": 200,
    # Part E 2: a well-formed id of another object in /sobjects/{obj}/{id}:
    # "MALFORMED_ID" (400) or "NOT_FOUND" (404 "Provided external ID field ...").
    "wrongTypeIdOnUpdate": "MALFORMED_ID",
    # Part E 3: an unknown sObject in the URL: "NOT_FOUND" (404) or "INVALID_TYPE" (400).
    "unknownSObjectError": "NOT_FOUND",
    # Part E 3: collections larger than this fail with 400 EXCEEDED_ID_LIMIT.
    "collectionsMaxRecords": 200,
    # Rolling-24h API allocation. A Full sandbox gets 5,000,000 (§A10): real, and far above
    # what a day of writeback benchmarks spends.
    "dailyApiLimit": 5_000_000,
    "sessionSeconds": 7200,
    "apiVersions": API_VERSIONS,
    # Standard duplicate rules: object -> fields that must all match (case-insensitively).
    "duplicateRules": {"Contact": ["Email"], "Lead": ["Email"]},
    # An Alert rule (true) lets `Sforce-Duplicate-Rule-Header: allowSave=true` save anyway;
    # a Block rule (false) never does.
    "duplicateRuleAllowSave": True,
    # Salesforce keeps a refresh token until revoked unless the connected app rotates them.
    "rotateRefreshTokens": False,
    # null: derived from the tenant id. Fixed when the tenant is created.
    "orgId": None,
    # Connected-app callback URLs; empty accepts any http(s) redirect_uri.
    "callbackUrls": [],
    # Real Salesforce never sends Retry-After; turn on to give injected faults one.
    "faultRetryAfter": False,
    # Where the org's users log in and its tokens are issued and refreshed: a production org
    # at login.salesforce.com, a sandbox org at test.salesforce.com, either at its My Domain.
    "loginHost": "login.salesforce.com",
}

DEFAULT_LOGIN_HOST = "login.salesforce.com"
SANDBOX_LOGIN_HOST = "test.salesforce.com"
_MY_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+my\.salesforce\.com$")


def is_my_domain(host: str) -> bool:
    return bool(_MY_DOMAIN.match(host))


def is_login_host(host: Any) -> bool:
    """login.salesforce.com, test.salesforce.com, or a My Domain host (lowercase)."""
    return isinstance(host, str) and (
        host in (DEFAULT_LOGIN_HOST, SANDBOX_LOGIN_HOST) or is_my_domain(host)
    )


def is_sandbox_org_host(host: str) -> bool:
    """An org logging in here is a sandbox org."""
    return host == SANDBOX_LOGIN_HOST or host.endswith(".sandbox.my.salesforce.com")


def logs_in_at(org_host: str, host: str) -> bool:
    """Whether an org whose `loginHost` is `org_host` accepts logins and token requests at
    `host`: its own host, and the generic host of its kind (test.salesforce.com for sandbox
    orgs, login.salesforce.com for the others)."""
    if host == org_host:
        return True
    generic = SANDBOX_LOGIN_HOST if is_sandbox_org_host(org_host) else DEFAULT_LOGIN_HOST
    return host == generic


def _is_int(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _versions_ok(value: Any) -> bool:
    if not isinstance(value, list) or not value:
        return False
    if not all(isinstance(v, str) and re.fullmatch(r"\d{2}\.0", v) for v in value):
        return False
    return [float(v) for v in value] == sorted(float(v) for v in value)


def _rules_ok(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(fields, list) and fields and all(isinstance(f, str) for f in fields)
        for fields in value.values()
    )


CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "allOrNoneFailureStatus": (lambda v: v in (200, 400), "200 or 400"),
    "wrongTypeIdOnUpdate": (
        lambda v: v in ("MALFORMED_ID", "NOT_FOUND"),
        '"MALFORMED_ID" or "NOT_FOUND"',
    ),
    "unknownSObjectError": (
        lambda v: v in ("NOT_FOUND", "INVALID_TYPE"),
        '"NOT_FOUND" or "INVALID_TYPE"',
    ),
    "collectionsMaxRecords": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "dailyApiLimit": (lambda v: _is_int(v, 0), "an integer >= 0"),
    "sessionSeconds": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "apiVersions": (_versions_ok, 'a non-empty ascending list like ["59.0", "62.0"]'),
    "duplicateRules": (_rules_ok, 'an object like {"Contact": ["Email"]}'),
    "duplicateRuleAllowSave": (lambda v: isinstance(v, bool), "true or false"),
    "rotateRefreshTokens": (lambda v: isinstance(v, bool), "true or false"),
    "orgId": (lambda v: v is None or isinstance(v, str), "null or an id starting 00D"),
    "callbackUrls": (
        lambda v: isinstance(v, list) and all(isinstance(u, str) for u in v),
        "a list of URLs",
    ),
    "faultRetryAfter": (lambda v: isinstance(v, bool), "true or false"),
    "loginHost": (
        is_login_host,
        '"login.salesforce.com", "test.salesforce.com" or a My Domain host'
        ' like "acme--dev.sandbox.my.salesforce.com" (lowercase, no scheme)',
    ),
}


def problems(settings: dict[str, Any]) -> list[str]:
    """What is wrong with these settings, one message per bad value."""
    return [
        f"{name} must be {expected}, got {settings[name]!r}"
        for name, (ok, expected) in CHECKS.items()
        if name in settings and not ok(settings[name])
    ]

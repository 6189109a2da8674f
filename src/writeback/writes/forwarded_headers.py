"""Which request headers a write may forward to its provider, and what a header must look like.

A forwarded header lands on writeback's own connection to the provider, next to writeback's
credentials: a credential, framing or hop-by-hop header there could act as the connection, end
the request early or smuggle a second one onto a kept-alive connection. So only the headers a
provider documents for record writes pass, and keys and values must be well-formed HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

# Salesforce REST API request headers that apply to sObject row and collection writes
# (developer.salesforce.com, REST API Developer Guide, "Headers"): assignment rules, call
# options, duplicate rules, most-recently-used, and the conditional request headers (which
# Salesforce honours on single-record updates).
SALESFORCE_HEADERS: tuple[str, ...] = (
    "Sforce-Auto-Assign",
    "Sforce-Call-Options",
    "Sforce-Duplicate-Rule-Header",
    "Sforce-Mru",
    "If-Match",
    "If-None-Match",
    "If-Modified-Since",
    "If-Unmodified-Since",
)
# The Package Version header names the package's namespace: x-sfdc-packageversion-<namespace>.
SALESFORCE_PACKAGE_VERSION = re.compile(r"x-sfdc-packageversion-[A-Za-z0-9_]+", re.IGNORECASE)

# HubSpot's CRM object APIs document no request header that changes a write, and Ampersand
# forwards headers to Salesforce only (write.yaml: "currently only Salesforce headers are
# supported").
ALLOWED: dict[str, tuple[str, ...]] = {"salesforce": SALESFORCE_HEADERS, "hubspot": ()}

# Headers that must never be forwarded, named so the refusal can say why.
FORBIDDEN = frozenset(
    name.lower()
    for name in (
        "Authorization",
        "Proxy-Authorization",
        "Cookie",
        "Host",
        "Content-Length",
        "Content-Type",
        "Content-Encoding",
        "Transfer-Encoding",
        "Connection",
        "Keep-Alive",
        "Upgrade",
        "TE",
        "Trailer",
        "Expect",
        "Proxy-Connection",
    )
)

MAX_VALUE_CHARS = 4096  # Salesforce's header values are short option lists and ETags
# RFC 9110 §5.6.2: token = 1*tchar
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9110 §5.5 field-value without obs-text: visible ASCII, space and tab (never CR, LF or NUL)
FIELD_VALUE = re.compile(r"[\x20-\x7e\t]*")


@dataclass(frozen=True)
class HeaderProblem:
    index: int  # in the request's `headers`
    part: Literal["key", "value"]
    detail: str
    remedy: str


def allowed_headers(provider: str) -> tuple[str, ...]:
    return ALLOWED.get(provider, ())


def _allowed_text(provider: str) -> str:
    names = allowed_headers(provider)
    if not names:
        return (
            f"{provider} takes no forwarded headers (writeback forwards headers to Salesforce"
            " only): remove `headers`."
        )
    extra = " and x-sfdc-packageversion-<namespace>" if provider == "salesforce" else ""
    return f"Forward only the headers {provider} documents for writes: {', '.join(names)}{extra}."


def _is_allowed(key: str, provider: str) -> bool:
    lowered = key.lower()
    if any(lowered == name.lower() for name in allowed_headers(provider)):
        return True
    return provider == "salesforce" and SALESFORCE_PACKAGE_VERSION.fullmatch(key) is not None


def _key_problem(index: int, key: str, provider: str) -> HeaderProblem | None:
    if not TOKEN.fullmatch(key):
        return HeaderProblem(
            index,
            "key",
            "is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only: no spaces,"
            " colons or control characters)",
            _allowed_text(provider),
        )
    lowered = key.lower()
    if lowered in FORBIDDEN or lowered.startswith("proxy-"):
        return HeaderProblem(
            index,
            "key",
            f"{key} is a credential, framing or hop-by-hop header: writeback sets those itself",
            _allowed_text(provider),
        )
    if not _is_allowed(key, provider):
        return HeaderProblem(
            index, "key", f"{key} is not forwarded to {provider}", _allowed_text(provider)
        )
    return None


def _value_problem(index: int, value: str) -> HeaderProblem | None:
    if len(value) > MAX_VALUE_CHARS:
        return HeaderProblem(
            index,
            "value",
            f"is {len(value)} characters long; a forwarded header value is at most"
            f" {MAX_VALUE_CHARS}",
            "Send the header's documented value.",
        )
    if not FIELD_VALUE.fullmatch(value):
        return HeaderProblem(
            index,
            "value",
            "is not a valid HTTP header value: only visible ASCII characters, spaces and tabs"
            " (no line breaks, control or non-ASCII characters)",
            "Send the value as the provider documents it, in plain ASCII.",
        )
    return None


def check_headers(headers: Sequence[tuple[str, str]], provider: str) -> list[HeaderProblem]:
    """Everything wrong with the headers a write asks to forward to `provider`."""
    problems: list[HeaderProblem] = []
    seen: dict[str, int] = {}
    for index, (key, value) in enumerate(headers):
        problem = _key_problem(index, key, provider)
        if problem is None and key.lower() in seen:
            problem = HeaderProblem(
                index,
                "key",
                f"{key} is sent twice (also headers[{seen[key.lower()]}]; names are"
                " case-insensitive)",
                "Send each header once.",
            )
        if problem is not None:
            problems.append(problem)
            continue
        seen[key.lower()] = index
        problem = _value_problem(index, value)
        if problem is not None:
            problems.append(problem)
    return problems

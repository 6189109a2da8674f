"""The scopes an API key can carry, and what a stored list of scope names grants.

`write` — the Write API and replaying an operation; `read` — every GET that shows no credentials;
`manage` — every change to the control plane (integrations, installations, provider apps,
connections, webhooks, keys, project settings); `credentials` — connections' raw tokens
(`includeCreds=true`). `full` (Ampersand's example scope, and what keys made before scopes had)
means all of them.
"""

from __future__ import annotations

from collections.abc import Iterable

WRITE = "write"
READ = "read"
MANAGE = "manage"
CREDENTIALS = "credentials"
FULL = "full"

SCOPES: tuple[str, ...] = (WRITE, READ, MANAGE, CREDENTIALS)
ALL_SCOPES: frozenset[str] = frozenset(SCOPES)
# A key made without `scopes`: everything but customers' raw tokens, which must be asked for.
DEFAULT_SCOPES: tuple[str, ...] = (WRITE, READ, MANAGE)
KNOWN_NAMES: tuple[str, ...] = (*SCOPES, FULL)


class ScopeError(ValueError):
    """A list of scopes a key cannot be given; the message says why and lists the known ones."""


def normalize_scopes(names: Iterable[str]) -> list[str]:
    """The scope names to store for a new or updated key: known names, each once, in order."""
    out: list[str] = []
    for name in names:
        if name not in KNOWN_NAMES:
            raise ScopeError(f"unknown scope {name!r}; known scopes: {', '.join(KNOWN_NAMES)}")
        if name not in out:
            out.append(name)
    if not out:
        raise ScopeError(f"a key needs at least one scope; known scopes: {', '.join(KNOWN_NAMES)}")
    return out


def granted(names: Iterable[str] | None) -> frozenset[str]:
    """What stored scope names allow. Names writeback does not know grant nothing."""
    names = list(names or ())
    if FULL in names:
        return ALL_SCOPES
    return ALL_SCOPES.intersection(names)

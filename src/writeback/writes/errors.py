"""Why a write cannot go ahead, in the domain's words. The API layer turns these into
problem+json (api/write_problems.py); the worker writes them into the operation's log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class FieldIssue:
    """One thing wrong with the request: where (`location` + `name`), what was sent, why."""

    location: str  # body | path | header
    name: str
    detail: str
    value: Any = None
    remedy: str | None = None


class WriteError(Exception):
    """A write that cannot go ahead: what is wrong (`detail`), how to fix it (`remedy`)."""

    def __init__(
        self,
        detail: str,
        *,
        remedy: str | None = None,
        issues: list[FieldIssue] | None = None,
        context: dict[str, Any] | None = None,
        code: str | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.remedy = remedy
        self.issues = issues
        self.context = context
        self.code = code
        self.retryable = retryable  # the same request, sent again, may succeed


class InvalidWrite(WriteError):
    """The request itself is wrong (the validity matrix, a missing field...)."""


class WriteTargetNotFound(WriteError):
    """No such integration, installation for the group, or write object."""


class WriteNotAllowed(WriteError):
    """The installation's config (or the connection's setup) does not allow this write."""


class CustomerMustReconnect(WriteError):
    """The customer's credentials no longer work: only the customer can fix it."""


class OutcomeUnknown(WriteError):
    """The provider may have written the record and no answer says whether it did; writeback
    will not send it again blindly."""


class IdempotencyConflict(WriteError):
    """An Idempotency-Key reused with a different request."""


class IdempotencyInterrupted(WriteError):
    """The request that first used an Idempotency-Key was cut off after its write was
    recorded; the write goes on without it."""


class IdempotencyInProgress(WriteError):
    """A request with the same Idempotency-Key is still running."""

    def __init__(self, detail: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(detail, retryable=True, **kwargs)
        self.retry_after = retry_after

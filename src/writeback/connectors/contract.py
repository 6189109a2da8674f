"""What every connector offers, and how it reports results and failures.

Per-record provider rejections are *results* (`RecordResult(success=False, errors=...)`);
anything that stops the call as a whole (auth, rate limits, outages, network) is a
`ConnectorError` with a class the retry policy understands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from writeback.writes.planning import PlannedRecord

ErrorClass = Literal[
    "auth",  # the token was refused even after a refresh: the customer must reconnect
    "forbidden",
    "rate_limited",
    "provider_5xx",
    "bad_request",
    "not_found",
    "conflict",
    "schema_drift",
    "network",
]
RETRYABLE: frozenset[str] = frozenset({"rate_limited", "provider_5xx", "network"})


@dataclass
class RecordError:
    message: str
    code: str | None = None
    fields: list[str] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message}
        if self.code:
            out["code"] = self.code
        if self.fields:
            out["fields"] = self.fields
        return out


@dataclass
class RecordResult:
    success: bool
    record_id: str | None = None
    data: dict[str, Any] | None = None
    errors: list[RecordError] = field(default_factory=list)
    raw: str | None = None  # the provider's body, for `rawResponse`
    warnings: list[RecordError] = field(default_factory=list)  # non-blocking problems


@dataclass
class BatchOutcome:
    results: list[RecordResult]  # one per input record, in input order
    errors: list[RecordError] = field(default_factory=list)  # batch-level errors and warnings

    @property
    def success_count(self) -> int:
        return sum(r.success for r in self.results)


class ConnectorError(Exception):
    def __init__(
        self,
        error_class: ErrorClass,
        message: str,
        *,
        status: int | None = None,
        raw: str | None = None,
        retry_after: float | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.message = message
        self.status = status
        self.raw = raw
        self.retry_after = retry_after
        self.code = code

    @property
    def retryable(self) -> bool:
        return self.error_class in RETRYABLE or self.code == "UNABLE_TO_LOCK_ROW"


WriteHeaders = list[tuple[str, str]]


class Connector(Protocol):
    provider: str

    async def create(
        self, object_name: str, record: PlannedRecord, headers: WriteHeaders
    ) -> RecordResult: ...

    async def update(
        self, object_name: str, record: PlannedRecord, headers: WriteHeaders
    ) -> RecordResult: ...

    async def delete(
        self, object_name: str, record_id: str, headers: WriteHeaders
    ) -> RecordResult: ...

    async def batch(
        self,
        write_type: Literal["create", "update"],
        object_name: str,
        records: list[PlannedRecord],
        all_or_none: bool,
        headers: WriteHeaders,
    ) -> BatchOutcome: ...

    async def current_values(
        self, object_name: str, record_ids: list[str], fields: list[str]
    ) -> dict[str, dict[str, Any]]:
        """Current values of `fields` for each record id (for `writeOnUpdate: ifEmpty`)."""
        ...

"""What every connector offers, and how it reports results and failures.

Per-record provider rejections are *results* (`RecordResult(success=False, errors=...)`);
anything that stops the call as a whole (auth, rate limits, outages, network) is a
`ConnectorError` with a class the retry policy understands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from writeback.common.clip import clip_optional, clip_text
from writeback.writes.planning import PlannedRecord

# What a provider says is kept and echoed (rawResponse, operation logs, problem details) up to
# these sizes, with a note that it was cut: a reply can be megabytes (an echoed 10 MB record),
# and it is stored with the operation and sent back to the caller.
MAX_RAW_BYTES = 8192
MAX_MESSAGE_BYTES = 4096

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

    def __post_init__(self) -> None:
        # provider text: kept to a size that is safe to store and echo
        self.message = clip_text(str(self.message), MAX_MESSAGE_BYTES)
        if self.code is not None:
            self.code = clip_text(str(self.code), 256)

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
    unknown: bool = False  # the request may have reached the provider; no answer came

    def __post_init__(self) -> None:
        self.raw = clip_optional(self.raw, MAX_RAW_BYTES)


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
        sent: bool = False,
    ) -> None:
        message = clip_text(message, MAX_MESSAGE_BYTES)
        super().__init__(message)
        self.error_class = error_class
        self.message = message
        self.status = status
        self.raw = clip_optional(raw, MAX_RAW_BYTES)
        self.retry_after = retry_after
        self.code = code
        self.sent = sent  # the request left: the provider may have acted on it

    @property
    def retryable(self) -> bool:
        return self.error_class in RETRYABLE or self.code == "UNABLE_TO_LOCK_ROW"

    @property
    def outcome_unknown(self) -> bool:
        """The request may have been carried out, and no answer says whether it was: a
        timeout or a dropped connection after sending, or a gateway that gave up waiting."""
        return self.sent and (self.error_class == "network" or self.status == 504)


WriteHeaders = list[tuple[str, str]]


@dataclass
class Verdict:
    """What a connector found for one record of a create whose answer was lost."""

    record_id: str | None = None  # found: the record that attempt created
    how: str = ""  # how it was found, for the log
    send: bool = False  # certainly not written (or the provider refuses a duplicate): send
    adopt: bool = False  # send, and a "duplicate" answer names the record to take
    later: bool = False  # cannot tell yet; asking again later may
    reason: str = "writeback cannot look the record up"  # why it cannot be known


class Connector(Protocol):
    provider: str

    async def create(
        self,
        object_name: str,
        record: PlannedRecord,
        headers: WriteHeaders,
        *,
        adopt_since: datetime | None = None,
    ) -> RecordResult:
        """`adopt_since`: a duplicate-value refusal naming a record created since then is that
        record's successful create (an earlier attempt wrote it)."""
        ...

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
        *,
        adopt_since: datetime | None = None,
    ) -> BatchOutcome: ...

    async def current_values(
        self, object_name: str, record_ids: list[str], fields: list[str]
    ) -> dict[str, dict[str, Any]]:
        """Current values of `fields` for each record id (for `writeOnUpdate: ifEmpty`)."""
        ...

    async def reconcile(
        self,
        object_name: str,
        records: list[PlannedRecord],
        match_fields: list[str],
        since: datetime,
    ) -> list[Verdict]:
        """For a create whose answer was lost: per record, the record it created (if found
        among records created since `since`), or whether sending it again is safe."""
        ...


def match_key(record: PlannedRecord, fields: list[str]) -> tuple[str, ...] | None:
    """The values of `fields` in `record` (text, case-folded), or None if one is missing: a
    record can be looked up by its match fields only when it has all of them."""
    if not fields:
        return None
    values = []
    for name in fields:
        value = record.fields.get(name)
        if value is None or value == "" or isinstance(value, dict | list):
            return None
        values.append(str(value).casefold())
    return tuple(values)


def no_match_fields(fields: list[str]) -> Verdict:
    if fields:
        return Verdict(reason=f"the record lacks a value for {', '.join(fields)}")
    return Verdict(
        reason="the installation declares no reconcileFields for this object to look it up by"
    )

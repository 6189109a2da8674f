"""Typed results of the Write API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Issue:
    """One message from the provider or the server: `message`, maybe a `code`."""

    message: str
    code: str | None = None

    @classmethod
    def parse(cls, items: Any) -> list[Issue]:
        return [
            cls(str(i.get("message")), i.get("code"))
            for i in items or []
            if isinstance(i, dict) and "message" in i
        ]


@dataclass(frozen=True)
class WriteResult:
    """A synchronous single-record write that succeeded."""

    operation_id: str
    record_id: str | None
    data: dict[str, Any] | None = None
    warnings: list[Issue] = field(default_factory=list)


@dataclass(frozen=True)
class RecordOutcome:
    success: bool
    record_id: str | None = None
    data: dict[str, Any] | None = None
    errors: list[Issue] = field(default_factory=list)


@dataclass(frozen=True)
class BatchWriteResult:
    operation_id: str
    success_count: int
    failure_count: int
    results: list[RecordOutcome]
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    @classmethod
    def parse(cls, body: dict[str, Any]) -> BatchWriteResult:
        return cls(
            operation_id=str(body.get("operationId")),
            success_count=int(body.get("successCount", 0)),
            failure_count=int(body.get("failureCount", 0)),
            results=[
                RecordOutcome(
                    success=bool(r.get("success")),
                    record_id=r.get("recordId"),
                    data=r.get("data"),
                    errors=Issue.parse(r.get("errors")),
                )
                for r in body.get("results") or []
            ],
            errors=Issue.parse(body.get("errors")),
            warnings=Issue.parse(body.get("warnings")),
        )


@dataclass(frozen=True)
class AcceptedWrite:
    """An asynchronous write was accepted; poll the operation or wait for its webhook."""

    operation_id: str

"""The result of one write, and its shapes on the wire (write.yaml, plus documented extensions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from writeback.connectors.contract import ConnectorError, RecordError, RecordResult


@dataclass
class WriteOutcome:
    batch: bool
    results: list[RecordResult]
    errors: list[RecordError] = field(default_factory=list)  # batch-level errors
    warnings: list[RecordError] = field(default_factory=list)
    failure: ConnectorError | None = None  # the call as a whole failed
    provider_calls: int = 0
    write_type: str = "create"
    recheck: bool = False  # an unknown outcome that asking the provider again later may settle

    @property
    def unknown_count(self) -> int:
        """Records that may or may not have been written: no answer says."""
        return sum(r.unknown for r in self.results)

    @property
    def outcome_unknown(self) -> bool:
        """Nothing is known to have been written, and something may have been."""
        return not self.succeeded and self.unknown_count > 0

    @property
    def retryable(self) -> bool:
        """Safe and sensible to send the same write again: the failure may pass, and sending
        it again cannot write a record twice (a create whose outcome is unknown could)."""
        if self.failure is None or not self.failure.retryable:
            return False
        return not (self.unknown_count and self.write_type == "create")

    @property
    def success_count(self) -> int:
        return sum(r.success for r in self.results)

    @property
    def failure_count(self) -> int:
        return len(self.results) - self.success_count

    @property
    def succeeded(self) -> bool:
        return self.success_count > 0

    @property
    def successful_ids(self) -> list[str]:
        return [r.record_id for r in self.results if r.success and r.record_id]

    def summary(self, write_type: str, object_name: str) -> str:
        if self.batch:
            unknown = f", {self.unknown_count} unknown" if self.unknown_count else ""
            return (
                f"Batch write completed ({self.success_count} succeeded,"
                f" {self.failure_count} failed{unknown})"
            )
        if self.succeeded:
            return f"[{object_name}] {write_type} succeeded"
        if self.outcome_unknown:
            return f"[{object_name}] Outcome unknown: {self.first_error()}"
        first = self.first_error()
        return f"[{object_name}] Error writing to provider: {first}"

    def first_error(self) -> str:
        if self.failure is not None:
            return self.failure.message
        for result in self.results:
            if result.errors:
                return result.errors[0].message
        return self.errors[0].message if self.errors else "the provider rejected the write"


def _messages(errors: list[RecordError]) -> list[dict[str, Any]]:
    return [e.to_json() for e in errors]


def _result_json(result: RecordResult, with_errors: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"success": result.success}
    if result.success and result.record_id:
        body["recordId"] = result.record_id
    if result.data:
        body["data"] = result.data
    if with_errors and result.errors and not result.success:
        body["errors"] = _messages(result.errors)  # extension: per-record errors
    return body


def response_body(operation_id: str, outcome: WriteOutcome) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body): 200 when anything was written, 422 when nothing was."""
    status = 200 if outcome.succeeded else 422
    if outcome.batch:
        body: dict[str, Any] = {
            "operationId": operation_id,
            "successCount": outcome.success_count,
            "failureCount": outcome.failure_count,
            "results": [_result_json(r, with_errors=True) for r in outcome.results],
        }
        errors = list(outcome.errors)
        if outcome.failure is not None:
            errors.insert(0, RecordError(outcome.failure.message, outcome.failure.code))
        if errors:
            body["errors"] = _messages(errors)
    elif outcome.succeeded:
        body = {"operationId": operation_id, "result": _result_json(outcome.results[0], False)}
    else:
        result = outcome.results[0] if outcome.results else RecordResult(False)
        errors = result.errors or (
            [RecordError(outcome.failure.message, outcome.failure.code)]
            if outcome.failure
            else [RecordError(outcome.first_error())]
        )
        body = {
            "operationId": operation_id,
            "errors": _messages(errors),
            "result": {"success": False},
        }
        raw = result.raw or (outcome.failure.raw if outcome.failure else None)
        if raw:
            body["rawResponse"] = raw
    warnings = outcome.warnings + [w for r in outcome.results for w in r.warnings]
    if warnings:
        body["warnings"] = _messages(warnings)
    if outcome.failure is not None or outcome.unknown_count:
        body["retryable"] = outcome.retryable  # extension: safe to send again?
    return status, body

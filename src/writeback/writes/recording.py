"""The rows that record one write: its operation, its log lines, the statuses it changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from writeback.operations.recorder import OperationRows
from writeback.store.tables import new_id
from writeback.writes.outcome import WriteOutcome
from writeback.writes.request import WriteRequest
from writeback.writes.target import WriteTarget


def make_log(operation_id: str, severity: str, msg: str, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"msg": msg, "operation_id": operation_id}
    message.update({k: v for k, v in extra.items() if v is not None})
    return {
        "operation_id": operation_id,
        "timestamp": datetime.now(UTC),
        "severity": severity,
        "message": message,
    }


def outcome_logs(
    operation_id: str, target: WriteTarget, outcome: WriteOutcome, summary: str
) -> list[dict[str, Any]]:
    logs = [
        make_log(
            operation_id,
            "INFO" if outcome.succeeded else "ERROR",
            summary,
            details={
                "provider": target.provider,
                "groupRef": target.group.group_ref,
                "records": str(len(outcome.results)),
                "providerCalls": str(outcome.provider_calls),
            },
        )
    ]
    for index, result in enumerate(outcome.results):
        if not result.success:
            for error in result.errors:
                message = f"record {index} failed: {error.message}"
                logs.append(make_log(operation_id, "ERROR", message, error=error.code))
    if outcome.failure is not None:
        logs.append(
            make_log(
                operation_id, "ERROR", outcome.failure.message, error=outcome.failure.error_class
            )
        )
    return logs


def outcome_metadata(
    object_name: str, request: WriteRequest, outcome: WriteOutcome
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "objects": [object_name],
        "writeType": request.type,
        "mode": request.mode,
        "recordCount": len(outcome.results),
        "successfulRecordIds": outcome.successful_ids,
        "providerCalls": outcome.provider_calls,
    }
    if outcome.batch:
        metadata["records"] = [
            {
                "index": index,
                "success": result.success,
                **({"recordId": result.record_id} if result.record_id else {}),
                **({"errors": [e.to_json() for e in result.errors]} if result.errors else {}),
            }
            for index, result in enumerate(outcome.results)
        ]
    return metadata


def operation_rows(
    target: WriteTarget, object_name: str, request: WriteRequest, outcome: WriteOutcome
) -> OperationRows:
    """A synchronous write's operation, finished when it is first stored."""
    operation_id = new_id()
    status = "success" if outcome.succeeded else "failure"
    summary = outcome.summary(request.type, object_name)
    return OperationRows(
        operation={
            "id": operation_id,
            "project_id": target.installation.project_id,
            "integration_id": target.installation.integration_id,
            "installation_id": target.installation.id,
            "config_id": target.config.id,
            "action_type": "write",
            "status": status,
            "result": summary,
            "metadata": outcome_metadata(object_name, request, outcome),
            "create_time": datetime.now(UTC),
            "update_time": None,
        },
        logs=outcome_logs(operation_id, target, outcome, summary),
        installation_status=(target.installation.id, status),
        connection_working=target.connection.id if outcome.succeeded else None,
    )

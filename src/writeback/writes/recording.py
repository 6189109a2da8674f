"""The rows that record one write: its operation, its log lines, the statuses it changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from writeback.operations.recorder import OperationRows
from writeback.store.tables import new_id
from writeback.writes.outcome import WriteOutcome
from writeback.writes.request import WriteRequest
from writeback.writes.target import WriteTarget


def _log(operation_id: str, severity: str, msg: str, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"msg": msg, "operation_id": operation_id}
    message.update({k: v for k, v in extra.items() if v is not None})
    return {
        "operation_id": operation_id,
        "timestamp": datetime.now(UTC),
        "severity": severity,
        "message": message,
    }


def operation_rows(
    target: WriteTarget, object_name: str, request: WriteRequest, outcome: WriteOutcome
) -> OperationRows:
    operation_id = new_id()
    status = "success" if outcome.succeeded else "failure"
    summary = outcome.summary(request.type, object_name)
    now = datetime.now(UTC)
    logs = [
        _log(
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
                logs.append(
                    _log(
                        operation_id,
                        "ERROR",
                        f"record {index} failed: {error.message}",
                        error=error.code,
                    )
                )
    if outcome.failure is not None:
        logs.append(
            _log(operation_id, "ERROR", outcome.failure.message, error=outcome.failure.error_class)
        )
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
            "metadata": {
                "objects": [object_name],
                "writeType": request.type,
                "mode": request.mode,
                "recordCount": len(outcome.results),
                "successfulRecordIds": outcome.successful_ids,
                "providerCalls": outcome.provider_calls,
            },
            "create_time": now,
            "update_time": None,
        },
        logs=logs,
        installation_status=(target.installation.id, status),
        connection_working=target.connection.id if outcome.succeeded else None,
    )

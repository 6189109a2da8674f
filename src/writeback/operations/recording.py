"""What an operation's record says: its row, its metadata, its log lines."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from writeback.common.clip import clip_text
from writeback.connectors.contract import ConnectorError
from writeback.store.deferred import defer_insert, defer_status
from writeback.store.tables import OperationLog
from writeback.writes.outcome import WriteOutcome
from writeback.writes.planning import PlannedRecord
from writeback.writes.request import WriteRequest
from writeback.writes.target import WriteTarget

OUTCOME_UNKNOWN = "outcome_unknown"
# One log line's text. Provider messages are capped where they enter (connectors/contract.py);
# this also bounds lines that quote anything else.
MAX_LOG_MSG_BYTES = 8192


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_log(operation_id: str, severity: str, msg: str, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "msg": clip_text(msg, MAX_LOG_MSG_BYTES),
        "operation_id": operation_id,
    }
    message.update({k: v for k, v in extra.items() if v is not None})
    return {
        "operation_id": operation_id,
        "timestamp": utcnow(),
        "severity": severity,
        "message": message,
    }


def store_logs(
    conn: AsyncConnection,
    logs: list[dict[str, Any]],
    *,
    installation_status: tuple[str, str] | None = None,
    connection_working: str | None = None,
) -> None:
    """Within a group commit: everything is deferred to the commit's end."""
    for log in logs:
        defer_insert(conn, OperationLog.__table__, log)  # type: ignore[arg-type]
    defer_status(conn, installation=installation_status, working_connection=connection_working)


def operation_row(
    operation_id: str,
    target: WriteTarget,
    *,
    status: str,
    result: str,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": operation_id,
        "project_id": target.installation.project_id,
        "integration_id": target.installation.integration_id,
        "installation_id": target.installation.id,
        "config_id": target.config.id,
        "action_type": "write",
        "status": status,
        "result": result,
        "metadata": metadata,
        "create_time": utcnow(),
        "update_time": None,
    }


def plan_json(object_name: str, write_type: str, records: list[PlannedRecord]) -> dict[str, Any]:
    """An attempt's intent: what is about to be sent, record by record."""
    return {
        "object": object_name,
        "type": write_type,
        "records": [
            {
                **({"recordId": r.record_id} if r.record_id else {}),
                "fields": r.fields,
                **({"associations": r.associations} if r.associations else {}),
            }
            for r in records
        ],
    }


def failure_json(failure: ConnectorError) -> dict[str, Any]:
    return {
        "class": failure.error_class,
        "message": failure.message,
        **({"status": failure.status} if failure.status else {}),
        **({"code": failure.code} if failure.code else {}),
        "sent": failure.sent,
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
    if outcome.failure is not None and outcome.failure.outcome_unknown:
        # (a record left unknown by a recovery says why in its own error)
        what = "the record" if not outcome.batch else f"{outcome.unknown_count} record(s)"
        consequence = (
            "writeback did not send it again, to avoid a duplicate. Check the CRM before"
            " writing it again."
            if outcome.write_type == "create"
            else "no later attempt settled it before the retry deadline."
        )
        logs.append(
            make_log(
                operation_id,
                "ERROR",
                f"outcome unknown: {what} may or may not have been written to {target.provider}"
                f" (the request was sent and no answer came); {consequence}",
                error=OUTCOME_UNKNOWN,
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
    if outcome.outcome_unknown:
        metadata["errorCode"] = OUTCOME_UNKNOWN
    if outcome.unknown_count:
        metadata["unknownCount"] = outcome.unknown_count
    if outcome.batch:
        metadata["records"] = [
            {
                "index": index,
                "success": result.success,
                **({"recordId": result.record_id} if result.record_id else {}),
                **({"outcomeUnknown": True} if result.unknown else {}),
                **({"errors": [e.to_json() for e in result.errors]} if result.errors else {}),
            }
            for index, result in enumerate(outcome.results)
        ]
    return metadata


def attempt_outcome(outcome: WriteOutcome) -> dict[str, Any]:
    """What came of an attempt, for its row."""
    body: dict[str, Any] = {
        "succeeded": outcome.success_count,
        "failed": outcome.failure_count,
        "unknown": outcome.unknown_count,
        "recordIds": outcome.successful_ids,
    }
    if outcome.failure is not None:
        body["failure"] = failure_json(outcome.failure)
    return body

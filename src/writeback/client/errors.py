"""Typed errors of the Write API: what went wrong and whether sending again can help."""

from __future__ import annotations

from typing import Any

from writeback.client.models import BatchWriteResult, Issue


class WritebackError(Exception):
    """Any error answer. `problem` is the problem+json body when there is one."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.body = body
        self.problem: dict[str, Any] = body if isinstance(body, dict) else {}

    @property
    def remedy(self) -> str | None:
        return self.problem.get("remedy")

    @property
    def request_id(self) -> str | None:
        return self.problem.get("requestId")


class RequestRejected(WritebackError):
    """400: the request itself is wrong; `issues` name each field."""

    @property
    def issues(self) -> list[dict[str, Any]]:
        return list(self.problem.get("issues") or [])


class AuthenticationError(WritebackError):
    """401 or 403: the API key is missing, wrong, deactivated, or not allowed."""


class NotFoundError(WritebackError):
    """404: the project, integration, installation (groupRef) or object does not exist."""


class ConflictError(WritebackError):
    """409: the installation's state forbids the write (e.g. deletes not enabled)."""


class ReconnectRequired(WritebackError):
    """424: the customer's connection no longer works; they must reconnect."""

    @property
    def operation_id(self) -> str | None:
        return (self.problem.get("context") or {}).get("operationId")


class ServerError(WritebackError):
    """5xx from writeback itself."""


class WriteRejected(WritebackError):
    """422 for a single record: the provider refused it."""

    def __init__(self, status: int, body: dict[str, Any], retry_after: float | None) -> None:
        self.errors = Issue.parse(body.get("errors"))
        super().__init__(status, self.errors[0].message if self.errors else "write failed", body)
        self.operation_id: str = str(body.get("operationId"))
        self.raw_response: str | None = body.get("rawResponse")
        self.retryable: bool = bool(body.get("retryable", False))
        self.retry_after = retry_after


class BatchRejected(WritebackError):
    """422 for a batch: no record was written. `result` holds every record's errors."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.result = BatchWriteResult.parse(body)
        first = next((e.message for r in self.result.results for e in r.errors), None)
        first = first or (self.result.errors[0].message if self.result.errors else "batch failed")
        super().__init__(status, first, body)
        self.operation_id = self.result.operation_id
        self.retryable: bool = bool(body.get("retryable", False))


_BY_STATUS: dict[int, type[WritebackError]] = {
    400: RequestRejected,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    424: ReconnectRequired,
}


def error_for(status: int, body: Any, batch: bool, retry_after: float | None) -> WritebackError:
    if status == 422 and isinstance(body, dict) and "operationId" in body:
        return BatchRejected(status, body) if batch else WriteRejected(status, body, retry_after)
    detail = body.get("detail") if isinstance(body, dict) else None
    message = str(detail or body or "error")
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else WritebackError)
    return cls(status, message, body)

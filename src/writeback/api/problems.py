"""application/problem+json errors (ApiProblem / InputValidationProblem of problem.yaml)."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from writeback.store.errors import StoreUnavailable, is_unavailable

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("writeback.api")


def issue(location: str, name: str, detail: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    """One InputValidationIssue: where (`in` + `name`), what was sent and what is wrong."""
    entry: dict[str, Any] = {"in": location, "name": name, "detail": detail}
    if value is not None:
        entry["value"] = value
    entry.update(extra)
    return entry


class ApiProblem(Exception):
    """Raise anywhere in a request to answer with a problem+json body."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        remedy: str | None = None,
        title: str | None = None,
        issues: list[dict[str, Any]] | None = None,
        retryable: bool = False,
        context: dict[str, Any] | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.remedy = remedy
        self.title = title or HTTPStatus(status).phrase
        self.issues = issues
        self.retryable = retryable
        self.context = context
        self.code = code  # a stable, machine-readable reason (extension)
        self.retry_after = retry_after  # seconds; also sent as the Retry-After header

    def body(self, request_id: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://httpstatuses.com/{self.status}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "subsystem": "api",
            "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "retryable": self.retryable,
        }
        if request_id:
            body["requestId"] = request_id
        if self.code:
            body["code"] = self.code
        if self.retry_after is not None:
            when = datetime.now(UTC) + timedelta(seconds=self.retry_after)
            body["retryAfter"] = when.isoformat().replace("+00:00", "Z")
        if self.remedy:
            body["remedy"] = self.remedy
        if self.issues is not None:
            body["issues"] = self.issues
        if self.context:
            body["context"] = self.context
        return body


def not_found(kind: str, ref: str, remedy: str) -> ApiProblem:
    return ApiProblem(404, f"{kind} {ref!r} not found.", remedy=remedy)


def bad_input(
    name: str, detail: str, remedy: str, value: Any = None, status: int = 400
) -> ApiProblem:
    """A single-field input problem, named so a client can point at the field."""
    return ApiProblem(
        status,
        f"{name}: {detail}",
        remedy=remedy,
        issues=[issue("body", name, detail, value)],
    )


def retry_after_header(problem: ApiProblem) -> dict[str, str]:
    if problem.retry_after is not None:
        return {"Retry-After": str(max(1, math.ceil(problem.retry_after)))}
    return {"Retry-After": "1"} if problem.status == 503 else {}


def problem_response(problem: ApiProblem, request: Request) -> JSONResponse:
    headers = retry_after_header(problem) or None
    return JSONResponse(
        problem.body(getattr(request.state, "request_id", None)),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def validation_issues(errors: Any) -> list[dict[str, Any]]:
    """InputValidationIssues from pydantic / FastAPI validation errors."""
    issues = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        location = loc[0] if loc and loc[0] in ("body", "query", "path", "header") else "body"
        path = loc[1:] if loc and loc[0] == location else loc
        name = _dotted(path) or location
        detail = error.get("msg", "invalid value")
        if error.get("type") == "json_invalid":
            ctx = error.get("ctx") or {}
            detail = f"malformed JSON: {ctx.get('error', 'cannot parse the body')}"
            name = "body"
        elif error.get("type") == "extra_forbidden":
            detail = "unknown field"
        elif name == "body" and error.get("type") in (
            "model_attributes_type",
            "dict_type",
            "model_type",
        ):
            detail = "the body must be a JSON object sent with Content-Type: application/json"
        value = None
        if error.get("type") not in ("missing", "json_invalid"):
            value = _safe_value(error.get("input"))
        issues.append(issue(location, name, detail, value))
    return issues


def invalid_request(issues: list[dict[str, Any]]) -> ApiProblem:
    summary = "; ".join(f"{i['name']}: {i['detail']}" for i in issues[:5])
    return ApiProblem(
        400,
        f"The request is not valid: {summary}",
        remedy="Fix the fields listed in `issues` and send the request again.",
        issues=issues,
    )


def _dotted(parts: list[str]) -> str:
    out = ""
    for part in parts:
        if part.isdigit():
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def _safe_value(value: Any) -> Any:
    # Echo small scalars back so the client sees what it sent; never echo secrets-sized blobs.
    if isinstance(value, str | int | float | bool) and len(str(value)) <= 200:
        return value
    return None


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(invalid_request(validation_issues(exc.errors())), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        remedy = None
        detail = str(exc.detail)
        if exc.status_code == 404:
            detail = f"No route for {request.method} {request.url.path}."
            remedy = "Check the path against the API reference at /docs."
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}."
            remedy = "Check the method against the API reference at /docs."
        return problem_response(ApiProblem(exc.status_code, detail, remedy=remedy), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        problem = unexpected_problem(exc, f"{request.method} {request.url.path}")
        return problem_response(problem, request)


def unavailable_problem(error: StoreUnavailable) -> ApiProblem:
    return ApiProblem(
        503,
        f"writeback could not record the request, so nothing was done: {error.reason}.",
        remedy="Send the same request again after Retry-After (with the same"
        " Idempotency-Key, if you used one).",
        retryable=True,
        retry_after=error.retry_after,
        code="store_unavailable",
    )


def unexpected_problem(error: Exception, where: str) -> ApiProblem:
    """An error nothing else handled: the database being away is a 503 (one log line, no
    traceback); anything else is a 500 whose details stay in the log."""
    if is_unavailable(error):
        log.warning("database unavailable on %s: %s", where, error.__class__.__name__)
        return unavailable_problem(StoreUnavailable("the database is unavailable"))
    log.exception("unhandled error on %s", where)
    return ApiProblem(
        500,
        "writeback hit an internal error; nothing about it is shown here.",
        remedy="Retry; if it persists, report the requestId to your writeback operator.",
        retryable=True,
    )

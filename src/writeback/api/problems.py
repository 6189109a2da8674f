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
from sqlalchemy.exc import StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException

from writeback.common.jsonsafe import NUL_TEXT, SURROGATE_TEXT, json_safe, number_problem
from writeback.store.errors import StoreUnavailable, is_unavailable

PROBLEM_JSON = "application/problem+json"
MAX_ISSUES = 50  # a request with thousands of mistakes is told about its first ones
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
        # whatever a caller put in it (an echoed integer beyond 64 bits, an unpaired surrogate
        # in a name), the body can be serialised
        return json_safe(body)


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
    if len(issues) > MAX_ISSUES:
        summary += f" (the first {MAX_ISSUES} of {len(issues)} issues are listed)"
        issues = issues[:MAX_ISSUES]
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
    # Echo small scalars back so the client sees what it sent; never echo secrets-sized blobs,
    # nor numbers the answer could not carry (an integer beyond 64 bits, NaN).
    if isinstance(value, str):
        return value if len(value) <= 200 else None
    if isinstance(value, int | float) and number_problem(value) is None:
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

    # Errors a value of the request can cause deep down (the database or an encoder refusing
    # it): answered here rather than by the catch-all below, which ends the connection.
    @app.exception_handler(StatementError)  # the database's errors (DBAPIError) and the store's
    @app.exception_handler(UnicodeEncodeError)
    async def _refused_value(request: Request, exc: Exception) -> JSONResponse:
        problem = unexpected_problem(exc, f"{request.method} {request.url.path}")
        return problem_response(problem, request)

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
    traceback); a value of the request that the database or an encoder refuses (NUL, an
    unpaired surrogate, an integer beyond 64 bits) is a 400; anything else is a 500 whose
    details stay in the log."""
    unstorable = unstorable_value(error)
    if unstorable is not None:
        log.warning("unstorable value in the request on %s: %s", where, unstorable)
        return ApiProblem(
            400,
            f"A value of the request {unstorable}.",
            remedy="Send text without NUL characters (\\u0000) or unpaired surrogate escapes"
            " (a lone \\ud800-\\udfff), within the documented lengths and number ranges.",
            code="unstorable_value",
        )
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


# Input the database refuses, by PostgreSQL SQLSTATE: text it cannot hold (22021
# character_not_in_repertoire: NUL in text; 22P05 untranslatable_character: \u0000 in JSON),
# text longer than its column (22001), a number beyond its column's type (22003).
_INPUT_STATES = {
    "22021": NUL_TEXT,
    "22P05": NUL_TEXT,
    "22001": "is longer than writeback stores for its field",
    "22003": "holds a number out of the range writeback stores for its field",
}


def unstorable_value(error: BaseException) -> str | None:
    """What is wrong when `error` (or what caused it) is the database or an encoder refusing
    a value that came in the request; None for any other error. A safety net: request models
    should refuse such values by name before they get this far."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, UnicodeEncodeError) and "surrogate" in str(current):
            return SURROGATE_TEXT
        if isinstance(current, TypeError) and "64-bit" in str(current):  # orjson, storing JSON
            return "holds an integer outside the signed 64-bit range"
        state = str(getattr(current, "sqlstate", "") or "")
        if state in _INPUT_STATES:
            return _INPUT_STATES[state]
        orig = getattr(current, "orig", None)
        current = (
            orig if isinstance(orig, BaseException) else current.__cause__ or current.__context__
        )
    return None

"""HubSpot's error envelope: `{status, message, correlationId, category, ...}`.

Every non-2xx answer of the emulator goes through here, so the shapes stay identical to the
ones captured from the real API (see docs/sandbox-hubspot.md).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from writeback.sandbox.http import HttpError, Response, json_response

AUTH_NOT_FOUND = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you"
    " can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


def correlation_id() -> str:
    return str(uuid.uuid4())


def error_body(
    message: str,
    category: str | None,
    *,
    errors: list[dict[str, Any]] | None = None,
    context: dict[str, list[str]] | None = None,
    sub_category: str | None = None,
    links: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": correlation_id(),
    }
    if category is not None:
        body["category"] = category
    if sub_category is not None:
        body["subCategory"] = sub_category
    if errors is not None:
        body["errors"] = errors
    if context is not None:
        body["context"] = context
    if links is not None:
        body["links"] = links
    if extra:
        body.update(extra)
    return body


def error_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    response = json_response(status, body, headers)
    if "correlationId" in body:
        response.header("X-HubSpot-Correlation-Id", body["correlationId"])
    return response


def api_error(status: int, message: str, category: str | None, **kwargs: Any) -> HttpError:
    return HttpError(error_response(status, error_body(message, category, **kwargs)))


def invalid_json(detail: str) -> HttpError:
    # Jackson's wording, as HubSpot's Java services answer malformed bodies.
    return api_error(400, f"Invalid input JSON on line 1, column 1: {detail}", "VALIDATION_ERROR")


def missing_fields(fields: list[str]) -> HttpError:
    return api_error(
        400,
        "Invalid input JSON on line 1, column 2: Some required fields were not set:"
        f" [{', '.join(fields)}]",
        "VALIDATION_ERROR",
    )


def item_error(
    category: str,
    message: str,
    context: dict[str, list[str]] | None = None,
    sub_category: str | None = None,
) -> dict[str, Any]:
    """One entry of a batch answer's `errors[]` (the client's StandardError model)."""
    error: dict[str, Any] = {"status": "error", "category": category, "message": message}
    if sub_category is not None:
        error["subCategory"] = sub_category
    if context is not None:
        error["context"] = context
    return error


@dataclass(frozen=True)
class PropertyProblem:
    """One bad property value: becomes one `errors[]` entry of a VALIDATION_ERROR."""

    name: str
    code: str
    message: str


def property_errors(problems: list[PropertyProblem], hub_id: int) -> HttpError:
    """400 VALIDATION_ERROR listing every bad property, in the message and in `errors[]`."""
    legacy = [
        {
            "isValid": False,
            "message": p.message,
            "error": p.code,
            "name": p.name,
            "localizedErrorMessage": p.message,
            "portalId": hub_id,
        }
        for p in problems
    ]
    errors = [
        {"message": p.message, "code": p.code, "context": {"propertyName": [p.name]}}
        for p in problems
    ]
    message = "Property values were not valid: " + orjson.dumps(legacy).decode()
    return api_error(400, message, "VALIDATION_ERROR", errors=errors)

"""Salesforce error bodies (§A8): REST arrays of {message, errorCode, fields}; inside
collection results the same problem is rendered as {statusCode, message, fields}."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from writeback.sandbox.http import Response, json_response

NOT_FOUND_MESSAGE = "The requested resource does not exist"


@dataclass(slots=True)
class Problem:
    code: str
    message: str
    fields: list[str] | None = None  # None: the real body has no "fields" key
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. duplicateResult

    def rest(self) -> dict[str, Any]:
        body: dict[str, Any] = dict(self.extra)
        body["message"] = self.message
        body["errorCode"] = self.code
        if self.fields is not None:
            body["fields"] = self.fields
        return body

    def in_collection(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": self.fields or []}


class SfError(Exception):
    """A whole request fails with `status` and these problems."""

    def __init__(self, status: int, *problems: Problem) -> None:
        super().__init__(problems[0].code if problems else status)
        self.status = status
        self.problems = list(problems)
        self.headers: dict[str, str] = {}

    def response(self) -> Response:
        return json_response(self.status, [p.rest() for p in self.problems], self.headers)


def not_found(message: str = NOT_FOUND_MESSAGE) -> SfError:
    return SfError(404, Problem("NOT_FOUND", message))


def no_external_id_field(segment: str) -> SfError:
    return not_found(f"Provided external ID field does not exist or is not accessible: {segment}")


def invalid_type(name: str) -> Problem:
    return Problem(
        "INVALID_TYPE",
        f"sObject type '{name}' is not supported. If you are attempting to use a custom object,"
        " be sure to append the '__c' after the entity name. Please reference your WSDL or the"
        " describe call for the appropriate names.",
    )


def no_such_column(name: str, entity: str) -> Problem:
    return Problem(
        "INVALID_FIELD",
        f"No such column '{name}' on entity '{entity}'. If you are attempting to use a custom"
        " field, be sure to append the '__c' after the custom field name. Please reference your"
        " WSDL or the describe call for the appropriate names.",
    )


def json_parser_error(message: str) -> SfError:
    return SfError(400, Problem("JSON_PARSER_ERROR", message))


def entity_is_deleted(fields: list[str] | None = None) -> Problem:
    return Problem("ENTITY_IS_DELETED", "entity is deleted", fields if fields is not None else [])


def wrong_type_id(label: str, value: str) -> Problem:
    return Problem("MALFORMED_ID", f"{label} ID: id value of incorrect type: {value}", ["Id"])


def invalid_session(message: str = "Session expired or invalid") -> SfError:
    return SfError(401, Problem("INVALID_SESSION_ID", message))


def request_limit(message: str) -> SfError:
    return SfError(403, Problem("REQUEST_LIMIT_EXCEEDED", message))


def method_not_allowed(method: str, allowed: list[str]) -> SfError:
    return SfError(
        405,
        Problem(
            "METHOD_NOT_ALLOWED",
            f"HTTP Method '{method}' not allowed. Allowed are {','.join(allowed)}",
        ),
    )


def unknown_exception() -> SfError:
    # The real message carries a support ErrorId made of random-looking numbers.
    first, second = random.randint(10**8, 2 * 10**9), random.randint(10**5, 10**6)
    third = -random.randint(10**8, 2 * 10**9)
    return SfError(
        500,
        Problem(
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support:"
            f" {first}-{second} ({third})",
        ),
    )


def server_unavailable() -> SfError:
    return SfError(
        503, Problem("SERVER_UNAVAILABLE", "Server temporarily unavailable. Please try again.")
    )


def rest_not_found_response() -> Response:
    return not_found().response()

"""Reading request bodies and query parameters the way HubSpot's endpoints do."""

from __future__ import annotations

from typing import Any

from writeback.sandbox.http import InvalidJson, Request
from writeback.sandbox.hubspot.errors import invalid_json, missing_fields


def json_object(request: Request) -> dict[str, Any]:
    try:
        data = request.json() if request.body else None
    except InvalidJson as exc:
        raise invalid_json(str(exc)) from None
    if not isinstance(data, dict):
        raise invalid_json("Cannot deserialize value: a JSON object is expected")
    return data


def json_list(request: Request) -> list[Any]:
    try:
        data = request.json() if request.body else None
    except InvalidJson as exc:
        raise invalid_json(str(exc)) from None
    if not isinstance(data, list):
        raise invalid_json(
            "Cannot deserialize value of type `java.util.HashSet` from non-array value"
        )
    return data


def inputs_of(data: dict[str, Any]) -> list[Any]:
    inputs = data.get("inputs")
    if inputs is None:
        raise missing_fields(["inputs"])
    if not isinstance(inputs, list):
        raise invalid_json(
            "Cannot deserialize value of type `java.util.ArrayList` from non-array value"
        )
    return inputs


def query_list(request: Request, name: str) -> list[str]:
    """`?properties=a&properties=b` and `?properties=a,b` both give ["a", "b"]."""
    values: list[str] = []
    for raw in request.query.get(name, []):
        values.extend(part for part in raw.split(",") if part)
    return values


def query_flag(request: Request, name: str) -> bool:
    # hubspot-api-client sends Python's repr: archived=False.
    return (request.arg(name) or "").lower() == "true"

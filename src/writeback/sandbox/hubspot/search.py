"""CRM search: `POST /crm/v3/objects/{objectType}/search`.

Filter groups are ORed, the filters of a group ANDed. Archived records are never found.
Real search is eventually consistent (a new record shows up seconds later); the emulator
answers from the records as they are, so a record is searchable as soon as it is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from writeback.sandbox.http import Request, Response, Router, json_response
from writeback.sandbox.hubspot import paths
from writeback.sandbox.hubspot.body import json_object
from writeback.sandbox.hubspot.errors import api_error, invalid_json
from writeback.sandbox.hubspot.gate import Gate
from writeback.sandbox.hubspot.portal import Portal
from writeback.sandbox.hubspot.records import Record, render_read
from writeback.sandbox.hubspot.schema import ObjectType, PropertyDef
from writeback.sandbox.hubspot.validation import as_text

# HubSpot's documented limits (raised in August 2024).
MAX_FILTER_GROUPS = 5
MAX_FILTERS_PER_GROUP = 10
MAX_FILTERS = 25
MAX_LIMIT = 200
DEFAULT_LIMIT = 10
MAX_RESULTS = 10_000  # paging to this offset or beyond is refused

OPERATORS = (
    "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY",
    "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN",
)  # fmt: skip
NEEDS_VALUE = frozenset({"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN"})
NEEDS_VALUES = frozenset({"IN", "NOT_IN"})
NEEDS_TOKEN = frozenset({"CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"})
_TOKEN_SPLIT = re.compile(r"[\s,;]+")

Test = Callable[[Record], bool]
Key = Callable[[str], Any]  # a stored value -> something comparable; None if unusable


def _validation(message: str) -> Exception:
    return api_error(400, message, "VALIDATION_ERROR")


def _millis(text: str) -> float | None:
    """Epoch milliseconds of a date or datetime written as epoch ms or ISO 8601."""
    text = text.strip()
    if re.fullmatch(r"-?\d+", text):
        return float(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() * 1000


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _key_for(definition: PropertyDef | None) -> Key:
    """How values of the property compare: numbers, instants, or case-insensitive text."""
    kind = definition.type if definition else "string"
    if kind == "number":
        return _number
    if kind in ("date", "datetime"):
        return _millis
    return lambda text: text.casefold()


def _present(record: Record, name: str) -> str | None:
    value = record.props.get(name)
    return value if value not in (None, "") else None


def _token_pattern(value: str) -> re.Pattern[str]:
    parts = (re.escape(part) for part in value.casefold().split("*"))
    return re.compile(".*".join(parts))


def _contains_token(text: str, pattern: re.Pattern[str]) -> bool:
    lowered = text.casefold()
    if pattern.fullmatch(lowered):
        return True
    return any(pattern.fullmatch(token) for token in _TOKEN_SPLIT.split(lowered) if token)


def _text_of(value: Any, what: str) -> str:
    text = as_text(value)
    if text is None:
        raise invalid_json(f"Cannot deserialize value of type `java.lang.String` for {what}")
    return text


def _filter(object_type: ObjectType, data: Any) -> Test:
    if not isinstance(data, dict):
        raise invalid_json("Cannot deserialize value of type `Filter` from non-object value")
    missing = [name for name in ("propertyName", "operator") if not data.get(name)]
    if missing:
        raise invalid_json(
            f"Cannot build Filter, some of required attributes are not set [{', '.join(missing)}]"
        )
    name, operator = str(data["propertyName"]), data["operator"]
    if operator not in OPERATORS:
        raise invalid_json(
            f'Cannot deserialize value of type `FilterOperatorEnum` from String "{operator}":'
            f" not one of the values accepted for Enum class: [{', '.join(OPERATORS)}]"
        )
    key = _key_for(object_type.properties.get(name))

    def comparable(value: Any, what: str) -> Any:
        converted = key(_text_of(value, what))
        if converted is None:
            raise _validation(
                f"{_text_of(value, what)} is not a valid value for property {name} ({operator})"
            )
        return converted

    def stored(record: Record) -> Any:
        value = _present(record, name)
        return None if value is None else key(value)

    if operator == "HAS_PROPERTY":
        return lambda record: _present(record, name) is not None
    if operator == "NOT_HAS_PROPERTY":
        return lambda record: _present(record, name) is None
    if operator in NEEDS_TOKEN:
        if data.get("value") is None:
            raise _validation(f"Filter on {name} with operator {operator} requires a value")
        pattern = _token_pattern(_text_of(data["value"], "value"))
        inside = operator == "CONTAINS_TOKEN"
        return lambda record: (
            ((value := _present(record, name)) is not None and _contains_token(value, pattern))
            == inside
        )
    if operator in NEEDS_VALUES:
        values = data.get("values")
        if not isinstance(values, list) or not values:
            raise _validation(f"Filter on {name} with operator {operator} requires values")
        members = {comparable(v, "values") for v in values}
        if operator == "IN":
            return lambda record: stored(record) in members
        return lambda record: stored(record) not in members  # records without it too
    if data.get("value") is None:
        raise _validation(f"Filter on {name} with operator {operator} requires a value")
    wanted = comparable(data["value"], "value")
    if operator == "EQ":
        return lambda record: stored(record) == wanted
    if operator == "NEQ":
        return lambda record: stored(record) != wanted  # records without it too
    if operator == "BETWEEN":
        if data.get("highValue") is None:
            raise _validation(f"Filter on {name} with operator BETWEEN requires a highValue")
        high = comparable(data["highValue"], "highValue")
        return lambda record: (
            _compare(stored(record), wanted, "GTE") and _compare(stored(record), high, "LTE")
        )
    return lambda record: _compare(stored(record), wanted, operator)


def _compare(left: Any, right: Any, operator: str) -> bool:
    if left is None:
        return False
    try:
        if operator == "LT":
            return bool(left < right)
        if operator == "LTE":
            return bool(left <= right)
        if operator == "GT":
            return bool(left > right)
        return bool(left >= right)
    except TypeError:
        return False


def _groups(object_type: ObjectType, data: dict[str, Any]) -> list[list[Test]]:
    raw_groups = data.get("filterGroups")
    if raw_groups is None and data.get("filters") is not None:
        raw_groups = [{"filters": data["filters"]}]  # the API also takes bare `filters`
    if raw_groups is None:
        return []
    if not isinstance(raw_groups, list):
        raise invalid_json(
            "Cannot deserialize value of type `java.util.ArrayList` from non-array value"
        )
    if len(raw_groups) > MAX_FILTER_GROUPS:
        raise _validation(
            f"Too many filter groups: {len(raw_groups)}. The maximum is {MAX_FILTER_GROUPS}."
        )
    groups: list[list[Test]] = []
    total = 0
    for group in raw_groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise invalid_json("Cannot build FilterGroup, some of required attributes are not set")
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise _validation(
                f"Too many filters in a filter group: {len(filters)}. The maximum is"
                f" {MAX_FILTERS_PER_GROUP}."
            )
        total += len(filters)
        groups.append([_filter(object_type, item) for item in filters])
    if total > MAX_FILTERS:
        raise _validation(f"Too many filters: {total}. The maximum is {MAX_FILTERS}.")
    return groups


def _sorts(object_type: ObjectType, raw: Any) -> list[tuple[Callable[[Record], Any], bool]]:
    """(key, descending) per sort: {"propertyName", "direction"}, "name" or "-name"."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid_json(
            "Cannot deserialize value of type `java.util.ArrayList` from non-array value"
        )
    out = []
    for item in raw:
        if isinstance(item, str) and item.startswith("{"):
            try:
                item = orjson.loads(item)  # some clients send each sort as a JSON string
            except orjson.JSONDecodeError:
                raise invalid_json(f"Cannot deserialize sort {item!r}") from None
        if isinstance(item, str):
            name, descending = item.removeprefix("-"), item.startswith("-")
        elif isinstance(item, dict) and item.get("propertyName"):
            name = str(item["propertyName"])
            direction = str(item.get("direction") or "ASCENDING").upper()
            if direction not in ("ASCENDING", "DESCENDING"):
                raise invalid_json(
                    f'Cannot deserialize value of type `Direction` from String "{direction}":'
                    " not one of the values accepted for Enum class: [ASCENDING, DESCENDING]"
                )
            descending = direction == "DESCENDING"
        else:
            raise invalid_json("Cannot build Sort, some of required attributes are not set")
        key = _key_for(object_type.properties.get(name))

        def sort_key(record: Record, name: str = name, key: Key = key) -> Any:
            value = _present(record, name)
            return None if value is None else key(value)

        out.append((sort_key, descending))
    return out


def _paging(data: dict[str, Any]) -> tuple[int, int]:
    limit_raw = data.get("limit")
    try:
        limit = DEFAULT_LIMIT if limit_raw is None else int(limit_raw)
        after_raw = data.get("after")
        after = 0 if after_raw in (None, "") else int(str(after_raw))
    except (TypeError, ValueError):
        raise invalid_json("Cannot deserialize value of type `int` from String") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise _validation(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    if not 0 <= after < MAX_RESULTS:
        raise _validation(
            f"Search results are limited to {MAX_RESULTS} records: after must be between 0"
            f" and {MAX_RESULTS - 1}, got {after}"
        )
    return limit, after


def _query_test(object_type: ObjectType, query: Any) -> Test | None:
    """`query`: a case-insensitive substring of the type's default/display properties."""
    if not isinstance(query, str) or not query.strip():
        return None
    needle = query.strip().casefold()
    names = {
        *object_type.default_props,
        object_type.primary_display,
        *object_type.secondary_display,
    }
    return lambda record: any(needle in (record.props.get(name) or "").casefold() for name in names)


def search(portal: Portal, object_type: ObjectType, data: dict[str, Any]) -> dict[str, Any]:
    groups = _groups(object_type, data)
    sorts = _sorts(object_type, data.get("sorts"))
    limit, after = _paging(data)
    properties = data.get("properties")
    if properties is not None and (
        not isinstance(properties, list) or not all(isinstance(p, str) for p in properties)
    ):
        raise invalid_json(
            "Cannot deserialize value of type `java.util.ArrayList` from non-array value"
        )
    query = _query_test(object_type, data.get("query"))
    found = []
    for record in portal.store.live(object_type.type_id):  # creation order unless sorted
        if groups and not any(all(test(record) for test in group) for group in groups):
            continue
        if query is not None and not query(record):
            continue
        found.append(record)
    for key, descending in reversed(sorts):
        valued = [r for r in found if key(r) is not None]
        missing = [r for r in found if key(r) is None]
        found = sorted(valued, key=key, reverse=descending) + missing
    page = found[after : after + limit]
    results = []
    for record in page:
        body = render_read(portal.hub_id, object_type, record, properties or None)
        body.pop("url", None)  # search results carry no record URL
        results.append(body)
    answer: dict[str, Any] = {"total": len(found), "results": results}
    if after + limit < len(found):
        answer["paging"] = {"next": {"after": str(after + limit)}}
    return answer


def register(router: Router, gate: Gate) -> None:
    @gate("objects.search")
    async def do_search(request: Request, portal: Portal) -> Response:
        object_type = paths.object_type(portal, request.params["objectType"])
        data = json_object(request) if request.body.strip() else {}
        return json_response(200, search(portal, object_type, data))

    for prefix in paths.OBJECTS:
        router.add("POST", prefix + "/{objectType}/search", do_search)

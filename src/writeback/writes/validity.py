"""The validity matrix of ampersand.md §4.4: every invalid combination of a write request,
each with what is wrong and how to fix it. Checked before anything is written."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from writeback import catalog
from writeback.common.jsonsafe import number_problem, text_problem
from writeback.writes.forwarded_headers import check_headers
from writeback.writes.request import WriteRequest

MAX_BATCH = 100
DEFAULT_MAX_FIELD_CHARS = 131_072  # Settings.max_field_chars: Salesforce's longest text field
MAX_NAME_CHARS = 1024  # a field name (providers' names are far shorter)
MAX_VALUE_ISSUES = 20  # a body full of bad values is named by its first ones, not echoed whole
MAX_ISSUES = 50  # likewise for everything else (thousands of headers...)


@dataclass(frozen=True)
class RequestIssue:
    name: str  # where in the body, e.g. "batch[3].record.id"
    detail: str
    remedy: str
    value: Any = None


def find_record_id(record: dict[str, Any]) -> tuple[str | None, Any]:
    """The key holding the record id (`id`, or `Id` as Salesforce users write it) and its value."""
    for key in record:
        if key.lower() == "id":
            return key, record[key]
    return None, None


def _id_issues(request: WriteRequest) -> list[RequestIssue]:
    if request.type == "create":
        return []
    issues = []
    located = (
        [(f"batch[{i}].record", item.record) for i, item in enumerate(request.batch)]
        if request.batch is not None
        else [("record", request.record or {})]
    )
    for where, record in located:
        key, value = find_record_id(record)
        if key is None:
            issues.append(
                RequestIssue(
                    f"{where}.id",
                    f"{request.type} needs the provider's record id",
                    'Add "id" to the record: the id the provider gave the record at create.',
                )
            )
        elif number_problem(value):
            continue  # named by the value checks already
        elif not isinstance(value, str | int) or isinstance(value, bool) or str(value) == "":
            issues.append(
                RequestIssue(
                    f"{where}.{key}",
                    "must be a non-empty string",
                    "Send the provider's record id as a string.",
                    value,
                )
            )
    return issues


def _shape_issues(request: WriteRequest) -> list[RequestIssue]:
    issues = []
    if request.record is None and request.batch is None:
        issues.append(
            RequestIssue(
                "record",
                "neither record nor batch was sent",
                "Send `record` for one record, or `batch` for 1 to 100 records.",
            )
        )
    if request.record is not None and request.batch is not None:
        issues.append(
            RequestIssue(
                "batch",
                "record and batch were both sent",
                "Send `record` for one record, or `batch` for several, not both.",
            )
        )
    if request.batch is not None and not 1 <= len(request.batch) <= MAX_BATCH:
        issues.append(
            RequestIssue(
                "batch",
                f"holds {len(request.batch)} records; a batch holds 1 to {MAX_BATCH}",
                f"Split the records into batches of at most {MAX_BATCH}.",
                len(request.batch),
            )
        )
    if request.associations is not None and request.batch is not None:
        issues.append(
            RequestIssue(
                "associations",
                "top-level associations are for single-record writes",
                "Put each record's associations in batch[i].associations.",
            )
        )
    if request.batchPolicy is not None and request.batch is None:
        issues.append(
            RequestIssue(
                "batchPolicy",
                "applies only to batch writes",
                "Remove batchPolicy, or send the records as `batch`.",
            )
        )
    return issues


def _mode_issues(request: WriteRequest) -> list[RequestIssue]:
    issues = []
    if request.type == "delete":
        if request.batch is not None:
            issues.append(
                RequestIssue(
                    "batch",
                    "delete takes a single record",
                    'Send one `record: {"id": ...}` per delete request.',
                )
            )
        if request.mode == "asynchronous":
            issues.append(
                RequestIssue(
                    "mode",
                    "delete is synchronous only",
                    'Remove "mode" (or set it to "synchronous") for deletes.',
                    request.mode,
                )
            )
    if request.autoBatchPolicy is not None:
        if request.mode != "asynchronous":
            issues.append(
                RequestIssue(
                    "autoBatchPolicy",
                    "auto-batching needs mode asynchronous",
                    'Set "mode": "asynchronous", or remove autoBatchPolicy.',
                )
            )
        if request.batch is not None:
            issues.append(
                RequestIssue(
                    "autoBatchPolicy",
                    "auto-batching is for single-record writes",
                    "Send batches as they are, without autoBatchPolicy.",
                )
            )
    if request.retryPolicy is not None and request.mode != "asynchronous":
        issues.append(
            RequestIssue(
                "retryPolicy",
                "retry policies apply to asynchronous writes only",
                'Set "mode": "asynchronous", or remove retryPolicy (synchronous writes are'
                " not retried: the caller sees the outcome at once).",
            )
        )
    return issues


@functools.cache
def _support(provider: str) -> dict[str, Any]:
    # the catalog is static: build each provider's support matrix once, not per write
    return dict((catalog.get_provider(provider) or {}).get("support", {}))


def _provider_issues(request: WriteRequest, provider: str) -> list[RequestIssue]:
    issues = []
    support = _support(provider)
    if request.type == "delete" and not support.get("delete"):
        issues.append(
            RequestIssue("type", f"{provider} does not support deletes", "Use create or update.")
        )
    if request.batch is not None and request.type in ("create", "update"):
        batch_support = support.get("batchWrite", {}).get(request.type, {})
        if not batch_support.get("supported"):
            issues.append(
                RequestIssue(
                    "batch",
                    f"{provider} does not support batch {request.type}",
                    "Send one record per request.",
                )
            )
    has_associations = request.associations is not None or any(
        item.associations for item in request.batch or []
    )
    if has_associations and provider != "hubspot":
        issues.append(
            RequestIssue(
                "associations",
                f"associations are supported for HubSpot only, not {provider}",
                "Remove associations; for Salesforce, set the lookup field (e.g. AccountId)"
                " in the record.",
            )
        )
    if has_associations and request.type == "delete":
        issues.append(RequestIssue("associations", "deletes take no associations", "Remove them."))
    return issues


def _header_issues(request: WriteRequest, provider: str) -> list[RequestIssue]:
    pairs = [(h.key, h.value) for h in request.headers or []]
    return [
        RequestIssue(
            f"headers[{p.index}].{p.part}",
            p.detail,
            p.remedy,
            pairs[p.index][0] if p.part == "key" and len(pairs[p.index][0]) <= 200 else None,
        )
        for p in check_headers(pairs, provider)
    ]


def _leaf_issue(path: str, value: Any, max_chars: int) -> RequestIssue | None:
    if isinstance(value, str):
        if len(value) > max_chars:
            return RequestIssue(
                path,
                f"is {len(value)} characters long; a field value is at most {max_chars}"
                " (WRITEBACK_MAX_FIELD_CHARS)",
                "Shorten the value: no provider field holds more.",
            )
        problem = text_problem(value)
        if problem is None:
            return None
        return RequestIssue(path, problem, "Remove the character from the text.")
    problem = number_problem(value)
    if problem is None:
        return None
    return RequestIssue(path, problem, "Send numbers a 64-bit integer or a double can hold.")


def _nested_issues(where: str, value: Any, max_chars: int) -> Iterator[RequestIssue]:
    """Issues of every value nested in `value`, named by path (`record.Tags[2]`), in order.
    Iterative: nesting is bounded by the JSON parser, but a stack costs nothing."""
    stack = [(where, value)]
    while stack:
        path, current = stack.pop()
        if isinstance(current, dict):
            children = []
            for key, item in current.items():
                problem = text_problem(key)
                if problem is not None:
                    yield RequestIssue(
                        f"{path}.{key!r}", f"is a field name that {problem}", "Rename the field."
                    )
                elif len(key) > MAX_NAME_CHARS:
                    yield RequestIssue(
                        f"{path}.{key[:40]}…",
                        f"is a field name of {len(key)} characters; names are at most"
                        f" {MAX_NAME_CHARS}",
                        "Use the provider's field names.",
                    )
                else:
                    children.append((f"{path}.{key}", item))
            stack.extend(reversed(children))
        elif isinstance(current, list):
            stack.extend(reversed([(f"{path}[{i}]", item) for i, item in enumerate(current)]))
        else:
            found = _leaf_issue(path, current, max_chars)
            if found is not None:
                yield found


def _record_value_issues(request: WriteRequest, max_chars: int) -> list[RequestIssue]:
    """Values no provider field can take, and that writeback could not even store or echo:
    over-long text, text with NUL, integers beyond 64 bits, NaN and infinities (pydantic's
    JSON parser reads them)."""
    located: list[tuple[str, Any]] = []
    if request.batch is not None:
        for i, item in enumerate(request.batch):
            located.append((f"batch[{i}].record", item.record))
            if item.associations is not None:
                located.append((f"batch[{i}].associations", item.associations))
    if request.record is not None:
        located.append(("record", request.record))
    if request.associations is not None:
        located.append(("associations", request.associations))
    issues: list[RequestIssue] = []
    for where, value in located:
        for issue in _nested_issues(where, value, max_chars):
            issues.append(issue)
            if len(issues) == MAX_VALUE_ISSUES:
                return issues
    return issues


def check_request(
    request: WriteRequest, provider: str, *, max_field_chars: int = DEFAULT_MAX_FIELD_CHARS
) -> list[RequestIssue]:
    """Every issue of the request that does not depend on the installation."""
    issues = _shape_issues(request) + _mode_issues(request) + _provider_issues(request, provider)
    issues += _header_issues(request, provider)
    issues += _record_value_issues(request, max_field_chars)
    if not any(i.name in ("record", "batch") for i in issues):
        issues += _id_issues(request)
    return issues[:MAX_ISSUES]

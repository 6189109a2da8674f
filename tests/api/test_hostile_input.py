"""Requests a hostile caller sends (issue 9): none gets a 5xx, each is refused with a
problem+json naming what is wrong, and nothing is written, stored or sent to the provider.

Each write is tried on the paths a request can take: synchronous, asynchronous (accepted,
queued), auto-batched, and as an item of a batch.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
import pytest

from conftest import Sandbox, Server
from writeback.common.jsonsafe import INT64_MAX, INT64_MIN
from writeback.writes.forwarded_headers import SALESFORCE_HEADERS
from writeback.writes.request import WriteRequest
from writeback.writes.validity import check_request
from writes.write_support import Customer, new_customer

PROBLEM = "application/problem+json"
BEYOND_64_BITS = 18446744073709551616  # 2**64: the integer of issue 9
MIB = 1024 * 1024

# --- the paths a write takes, and "nothing happened" -------------------------------------

PATHS: dict[str, dict[str, Any]] = {
    "sync": {},
    "async": {"mode": "asynchronous"},
    "autobatch": {"mode": "asynchronous", "autoBatchPolicy": {"maxDelayMinutes": 1}},
}


def write_body(path: str, record: dict[str, Any], **extra: Any) -> tuple[dict[str, Any], str]:
    """A create on `path` (or a batch whose 4th item is `record`), and the name of the record
    in issues."""
    if path == "batch":
        batch = [{"record": {"LastName": f"ok-{i}"}} for i in range(3)] + [{"record": record}]
        return {"type": "create", "batch": batch, **extra}, "batch[3].record"
    return {"type": "create", "record": record, **PATHS[path], **extra}, "record"


ALL_PATHS = [*PATHS, "batch"]


@dataclass(frozen=True)
class Snapshot:
    objects: dict[str, int]
    provider_requests: dict[str, int]
    operations: int


def snapshot(customer: Customer) -> Snapshot:
    tenant = customer.sandbox.admin.get(f"/_sandbox/tenants/{customer.tenant['tenantId']}")
    operations = customer.api.get(
        f"{customer.p}/integrations/{customer.integration['id']}/installations/"
        f"{customer.installation['id']}/operations"
    )
    assert operations.status_code == 200, operations.text
    return Snapshot(
        dict(tenant.json()["objects"]), customer.stats(), len(operations.json()["results"])
    )


def assert_refused(
    response: httpx.Response, status: int, names: list[str] | None = None, where: str = "body"
) -> dict[str, Any]:
    """A problem+json answer naming exactly `names` (in order) in its issues."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = dict(response.json())
    assert body["status"] == status and body["detail"] and body["remedy"], body
    assert body["requestId"] == response.headers["x-request-id"]
    if names is not None:
        assert [i["name"] for i in body["issues"]] == names, body
        assert all(i["in"] == where for i in body["issues"]), body
    return body


@pytest.fixture(scope="module")
def salesforce(stack: Server, sandbox: Sandbox) -> Customer:
    return new_customer(stack, sandbox, "salesforce")


@pytest.fixture(scope="module")
def hubspot(stack: Server, sandbox: Sandbox) -> Customer:
    return new_customer(stack, sandbox, "hubspot")


def write_path(customer: Customer, object_name: str = "contact") -> str:
    return f"{customer.p}/integrations/{customer.integration['id']}/objects/{object_name}"


# --- (a) an integer beyond 64 bits in a body that fails validation -------------------------


@pytest.mark.parametrize("path", ALL_PATHS)
def test_huge_integer_beside_a_mistake_is_a_400(salesforce: Customer, path: str) -> None:
    before = snapshot(salesforce)
    body, _ = write_body(path, {"LastName": "x"}, x=BEYOND_64_BITS)
    response = salesforce.write("contact", body)
    issue = assert_refused(response, 400, ["x"])["issues"][0]
    assert issue["detail"] == "unknown field" and "value" not in issue  # not echoed
    assert snapshot(salesforce) == before


def test_huge_integer_in_a_bounded_field_is_a_400(salesforce: Customer) -> None:
    response = salesforce.write(
        "contact",
        {
            "type": "create",
            "mode": "asynchronous",
            "record": {"LastName": "x"},
            "retryPolicy": {"deadlineHours": BEYOND_64_BITS},
        },
    )
    assert_refused(response, 400, ["retryPolicy.deadlineHours"])


def test_huge_integer_on_a_control_plane_route_is_a_400(salesforce: Customer) -> None:
    response = salesforce.api.post(f"{salesforce.p}/api-keys", json={"label": BEYOND_64_BITS})
    assert_refused(response, 400, ["label"])


def test_huge_integer_in_stored_config_is_a_400(salesforce: Customer) -> None:
    # the installation config takes any JSON value; storing this one fails deep down
    raw = (
        b'{"groupRef": "%s", "action": "write", "changes": [{"op": "add", "path":'
        b' "/selectedValueDefaults", "value": {"LastName": {"value": %d}}}]}'
    ) % (salesforce.group_ref.encode(), BEYOND_64_BITS)
    response = salesforce.api.patch(
        f"{write_path(salesforce)}/config-content",
        content=raw,
        headers={"Content-Type": "application/json"},
    )
    assert_refused(response, 400)
    assert "64-bit" in response.json()["detail"]
    assert salesforce.api.get(f"{salesforce.p}/api-keys").status_code == 200  # still connected


# --- (b) an integer beyond 64 bits inside a valid record -----------------------------------


@pytest.mark.parametrize("path", ALL_PATHS)
@pytest.mark.parametrize("number", [BEYOND_64_BITS, INT64_MAX + 1, INT64_MIN - 1])
def test_huge_integer_in_a_record_is_a_400_naming_it(
    salesforce: Customer, path: str, number: int
) -> None:
    before = snapshot(salesforce)
    body, record = write_body(path, {"LastName": "x", "NumberOfEmployees": number})
    response = salesforce.write("contact", body)
    issue = assert_refused(response, 400, [f"{record}.NumberOfEmployees"])["issues"][0]
    assert "64-bit" in issue["detail"]
    assert response.json()["retryable"] is False
    assert snapshot(salesforce) == before


@pytest.mark.parametrize("path", ALL_PATHS)
def test_huge_integer_nested_in_a_record_is_named(salesforce: Customer, path: str) -> None:
    body, record = write_body(
        path, {"LastName": "x", "Tags__c": [1, {"n": BEYOND_64_BITS}], "Meta__c": {"deep": [-1]}}
    )
    assert_refused(salesforce.write("contact", body), 400, [f"{record}.Tags__c[1].n"])


def test_huge_integer_in_associations_is_named(hubspot: Customer) -> None:
    before = snapshot(hubspot)
    association = {"to": {"id": BEYOND_64_BITS}, "types": []}
    single = hubspot.write(
        "companies", {"type": "create", "record": {"name": "x"}, "associations": [association]}
    )
    assert_refused(single, 400, ["associations[0].to.id"])
    batch = hubspot.write(
        "companies",
        {
            "type": "create",
            "batch": [
                {"record": {"name": "ok"}},
                {"record": {"name": "x"}, "associations": [association]},
            ],
        },
    )
    assert_refused(batch, 400, ["batch[1].associations[0].to.id"])
    assert snapshot(hubspot) == before


def test_the_64_bit_range_is_the_accepted_range() -> None:
    def issues(number: int) -> list[str]:
        request = WriteRequest(groupRef="g", type="create", record={"n": number})
        return [i.name for i in check_request(request, "salesforce")]

    assert issues(INT64_MAX) == [] and issues(INT64_MIN) == []
    assert issues(INT64_MAX + 1) == ["record.n"] and issues(INT64_MIN - 1) == ["record.n"]


@pytest.mark.parametrize("path", ALL_PATHS)
@pytest.mark.parametrize("literal", ["1e400", "-1e400", "NaN", "Infinity", "-Infinity"])
def test_numbers_that_are_not_finite_are_a_400(
    salesforce: Customer, path: str, literal: str
) -> None:
    # JSON has no such numbers, but Python's and pydantic's parsers read them
    before = snapshot(salesforce)
    body, record = write_body(path, {"LastName": "x", "NumberOfEmployees": 0})
    raw = httpx.Request("POST", "/", json={"groupRef": salesforce.group_ref, **body}).content
    raw = raw.replace(b'"NumberOfEmployees":0', f'"NumberOfEmployees":{literal}'.encode())
    response = salesforce.api.post(
        write_path(salesforce), content=raw, headers={"Content-Type": "application/json"}
    )
    assert_refused(response, 400, [f"{record}.NumberOfEmployees"])
    assert snapshot(salesforce) == before


# --- text no provider or database can hold -------------------------------------------------


@pytest.mark.parametrize("path", ALL_PATHS)
def test_nul_characters_in_a_record_are_named(salesforce: Customer, path: str) -> None:
    before = snapshot(salesforce)
    body, record = write_body(path, {"LastName": "a\u0000b"})
    assert_refused(salesforce.write("contact", body), 400, [f"{record}.LastName"])
    body, record = write_body(path, {"LastName": "x", "Bad\u0000": 1})
    assert_refused(salesforce.write("contact", body), 400, [f"{record}.'Bad\\x00'"])
    assert snapshot(salesforce) == before


def test_nul_in_a_group_ref_or_the_url_is_a_400(salesforce: Customer) -> None:
    response = salesforce.api.post(
        write_path(salesforce),
        json={"groupRef": "g\u0000", "type": "create", "record": {"LastName": "x"}},
    )
    assert_refused(response, 400, ["groupRef"])
    assert_refused(salesforce.api.get(f"{salesforce.p}/operations/a%00b"), 400, ["path"], "path")
    assert_refused(salesforce.api.post(write_path(salesforce, "con%00tact"), json={}), 400)


def test_unpaired_surrogates_are_a_400(salesforce: Customer) -> None:
    raw = b'{"groupRef": "g", "type": "create", "record": {"LastName": "\\ud800"}}'
    response = salesforce.api.post(
        write_path(salesforce), content=raw, headers={"Content-Type": "application/json"}
    )
    assert_refused(response, 400, ["body"])
    # a control-plane body that passes validation: the value cannot be stored, and says so
    response = salesforce.api.post(
        f"{salesforce.p}/webhooks",
        content=b'{"url": "https://example.com/\\udc00"}',
        headers={"Content-Type": "application/json"},
    )
    assert_refused(response, 400)


# --- (c) forwarded headers -----------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_PATHS)
@pytest.mark.parametrize(
    "value",
    ["\u2603", "caf\u00e9", "a\u0000b", "TRUE\r\nX-Injected: 1", "FALSE\n"],
    ids=["snowman", "latin-1", "nul", "crlf", "lf"],
)
def test_header_values_that_are_not_http_are_a_400(
    salesforce: Customer, path: str, value: str
) -> None:
    before = snapshot(salesforce)
    headers = [{"key": "Sforce-Auto-Assign", "value": value}]
    body, _ = write_body(path, {"LastName": "x"}, headers=headers)
    body = assert_refused(salesforce.write("contact", body), 400, ["headers[0].value"])
    assert "ASCII" in body["issues"][0]["detail"]
    assert snapshot(salesforce) == before


FORBIDDEN = [
    "Authorization",
    "Proxy-Authorization",
    "Cookie",
    "Host",
    "Content-Length",
    "Content-Type",
    "Transfer-Encoding",
    "Connection",
    "Keep-Alive",
    "Upgrade",
    "TE",
    "Trailer",
    "Expect",
    "Proxy-Connection",
    "X-Custom",
    "Sforce-Query-Options",  # a Salesforce header, for queries: not a write's
]


@pytest.mark.parametrize("key", FORBIDDEN)
def test_headers_off_the_allow_list_are_a_400(salesforce: Customer, key: str) -> None:
    before = snapshot(salesforce)
    response = salesforce.write(
        "contact",
        {"type": "create", "record": {"LastName": "x"}, "headers": [{"key": key, "value": "1"}]},
    )
    body = assert_refused(response, 400, ["headers[0].key"])
    assert key in body["issues"][0]["detail"]
    assert all(name in body["remedy"] for name in SALESFORCE_HEADERS)
    assert snapshot(salesforce) == before


@pytest.mark.parametrize("path", ALL_PATHS)
def test_authorization_header_does_not_touch_the_connection(
    salesforce: Customer, path: str
) -> None:
    working = salesforce.write("contact", {"type": "create", "record": {"LastName": "Ok"}})
    assert working.status_code == 200, working.text
    assert salesforce.get_connection()["status"] == "working"
    before = snapshot(salesforce)
    body, _ = write_body(
        path, {"LastName": "x"}, headers=[{"key": "Authorization", "value": "Bearer nope"}]
    )
    assert_refused(salesforce.write("contact", body), 400, ["headers[0].key"])
    assert salesforce.get_connection()["status"] == "working"
    assert "oauth.token" not in salesforce.stats()  # no token refresh
    assert snapshot(salesforce) == before


@pytest.mark.parametrize(
    "key", ["X Bad: y", "X-Note\r\nHost", "Sforce-Auto-Assign:", "Sforce-Mru ", "\u00c4-Header"]
)
def test_header_names_that_are_not_tokens_are_a_400(salesforce: Customer, key: str) -> None:
    response = salesforce.write(
        "contact",
        {"type": "create", "record": {"LastName": "x"}, "headers": [{"key": key, "value": "y"}]},
    )
    body = assert_refused(response, 400, ["headers[0].key"])
    assert "not an HTTP header name" in body["issues"][0]["detail"]


def test_a_header_sent_twice_is_a_400(salesforce: Customer) -> None:
    headers = [
        {"key": "Sforce-Auto-Assign", "value": "TRUE"},
        {"key": "sforce-auto-assign", "value": "FALSE"},
    ]
    response = salesforce.write(
        "contact", {"type": "create", "record": {"LastName": "x"}, "headers": headers}
    )
    body = assert_refused(response, 400, ["headers[1].key"])
    assert "twice" in body["issues"][0]["detail"]


def test_hubspot_takes_no_forwarded_headers(hubspot: Customer) -> None:
    before = snapshot(hubspot)
    response = hubspot.write(
        "companies",
        {"type": "create", "record": {"name": "x"}, "headers": [{"key": "X-Test", "value": "1"}]},
    )
    body = assert_refused(response, 400, ["headers[0].key"])
    assert "hubspot takes no forwarded headers" in body["remedy"]
    assert snapshot(hubspot) == before


def test_allowed_headers_are_forwarded(salesforce: Customer) -> None:
    headers = [
        {"key": "sforce-auto-assign", "value": "FALSE"},  # names are case-insensitive
        {"key": "Sforce-Mru", "value": "updateMru=false"},
        {"key": "x-sfdc-packageversion-acme", "value": "1.0"},
    ]
    response = salesforce.write(
        "contact", {"type": "create", "record": {"LastName": "Lovegood"}, "headers": headers}
    )
    assert response.status_code == 200, response.text


# --- limits --------------------------------------------------------------------------------


def test_a_ten_megabyte_record_is_refused_and_nothing_stored(salesforce: Customer) -> None:
    before = snapshot(salesforce)
    body = {"type": "create", "record": {"LastName": "x", "Description": "d" * (10 * MIB)}}
    response = salesforce.write("contact", body)
    problem = assert_refused(response, 413)
    assert problem["code"] == "body_too_large"
    assert len(response.content) < 2000  # nothing of the record comes back
    assert snapshot(salesforce) == before


def test_a_value_longer_than_any_field_is_a_400(salesforce: Customer) -> None:
    max_chars = salesforce.stack.settings.max_field_chars
    before = snapshot(salesforce)
    for path in ALL_PATHS:
        body, record = write_body(path, {"LastName": "x", "Description": "d" * (max_chars + 1)})
        response = salesforce.write("contact", body)
        issue = assert_refused(response, 400, [f"{record}.Description"])["issues"][0]
        assert "value" not in issue and len(response.content) < 4000
    assert snapshot(salesforce) == before


def test_a_full_batch_of_generous_records_fits(salesforce: Customer) -> None:
    # 100 records of 31,500 characters (Salesforce's long text area holds 32,000)
    batch = [
        {"record": {"LastName": f"Weasley {i}", "Description": f"{i} " + "w" * 31_500}}
        for i in range(100)
    ]
    body = {"groupRef": salesforce.group_ref, "type": "create", "batch": batch}
    assert len(httpx.Request("POST", "/", json=body).content) > 3 * MIB
    response = salesforce.api.post(write_path(salesforce), json=body)
    assert response.status_code == 200, response.text[:500]
    assert response.json()["successCount"] == 100


def test_a_declared_length_above_the_limit_is_refused_before_reading(stack: Server) -> None:
    """Only the headers are sent: the answer comes without waiting for a byte of body."""
    url = urlsplit(stack.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as conn:
        conn.sendall(
            b"POST /v1/projects/p/integrations/i/objects/o HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 400000000\r\n\r\n"
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += conn.recv(65536)
        head, _, payload = answer.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        while len(payload) < length:
            payload += conn.recv(65536)
    assert head.startswith(b"HTTP/1.1 413 "), head
    assert b"application/problem+json" in head and b"body_too_large" in payload


async def _stream_400_mib(url: str, headers: dict[str, str]) -> tuple[int, int]:
    """POST a 400 MiB chunked body, and the status with how much had been handed to the
    connection when the answer came."""
    sent = 0
    chunk = b"x" * MIB

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(400):
            sent += len(chunk)
            yield chunk
            await asyncio.sleep(0)

    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body(), headers=headers) as response,
    ):
        return response.status, sent


@pytest.mark.parametrize("key", [None, "project"], ids=["no-key", "valid-key"])
def test_a_400_mib_body_is_answered_long_before_it_is_read(
    salesforce: Customer, key: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["X-Api-Key"] = salesforce.api.headers["X-Api-Key"]
    url = salesforce.stack.url + "/v1" + write_path(salesforce)
    status, sent = asyncio.run(_stream_400_mib(url, headers))
    # without a key: 401 where authentication comes first, else 413 at the limit
    assert status in ({401, 413} if key is None else {413})
    assert sent < 100 * MIB  # the client still had most of the body to send


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("application/x-www-form-urlencoded", b"groupRef=g&type=create"),
        ("text/plain", b'{"groupRef": "g"}'),
        ("multipart/form-data; boundary=x", b"--x--"),
        (None, b'{"groupRef": "g"}'),
    ],
    ids=["form", "text", "multipart", "none"],
)
def test_a_body_that_is_not_json_is_a_415(
    salesforce: Customer, content_type: str | None, content: bytes
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    for path in (write_path(salesforce), f"{salesforce.p}/api-keys"):
        response = salesforce.api.post(path, content=content, headers=headers)
        problem = assert_refused(response, 415, ["Content-Type"], "header")
        assert "application/json" in problem["remedy"]


def test_json_media_types_are_accepted(salesforce: Customer) -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = salesforce.api.post(
            f"{salesforce.p}/api-keys",
            content=b'{"label": "typed"}',
            headers={"Content-Type": content_type},
        )
        assert response.status_code == 201, response.text


# --- what comes back from a provider is capped ---------------------------------------------


def test_a_provider_reply_is_cut_where_it_is_echoed_and_stored(salesforce: Customer) -> None:
    # Salesforce quotes a too-long value in its error: 100,000 characters, twice
    long_text = "q" * 100_000
    response = salesforce.write(
        "contact", {"type": "create", "record": {"LastName": "x", "Description": long_text}}
    )
    assert response.status_code == 422, response.text[:500]
    body = response.json()
    assert len(response.content) < 20_000
    message = body["errors"][0]["message"]
    assert message.startswith("Contact Description: data value too large: qqq")
    assert message.endswith("more bytes]") and "… [cut: " in message and len(message) < 4200
    assert "… [cut: " in body["rawResponse"] and len(body["rawResponse"]) < 8300
    logs = salesforce.logs(body["operationId"])
    assert logs and all(len(str(line)) < 20_000 for line in logs)

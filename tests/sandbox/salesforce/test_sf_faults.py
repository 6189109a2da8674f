"""Injected faults, rendered the way Salesforce fails."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
import requests
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceRefusedRequest

if TYPE_CHECKING:
    from sandbox.salesforce.conftest import SfOrg


def test_rate_limited_is_a_403_without_retry_after(new_org: Callable[..., SfOrg]) -> None:
    org = new_org(faults={"failNext": ["rate_limited"]})
    sf = org.client()
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.Account.create({"Name": "x"})
    assert caught.value.status == 403
    assert caught.value.content == [
        {
            "message": "ConcurrentPerOrgLongTxn Limit exceeded.",
            "errorCode": "REQUEST_LIMIT_EXCEEDED",
        }
    ]
    assert sf.Account.create({"Name": "x"})["success"] is True  # only the next one failed
    org.admin("PATCH", "/faults", json={"failNext": ["rate_limited"]})
    response = org.http().get("/sobjects")
    assert response.status_code == 403 and "Retry-After" not in response.headers
    assert response.headers["Sforce-Limit-Info"] == "api-usage=1/5000000"


def test_retry_after_when_asked_for(new_org: Callable[..., SfOrg]) -> None:
    org = new_org(
        settings={"faultRetryAfter": True},
        faults={"failNext": ["rate_limited", "unavailable"], "retryAfterSeconds": 7},
    )
    http = org.http()
    assert http.get("/sobjects").headers["Retry-After"] == "7"
    assert http.get("/sobjects").headers["Retry-After"] == "7"
    assert "Retry-After" not in http.get("/sobjects").headers


def test_unavailable_and_server_error(new_org: Callable[..., SfOrg]) -> None:
    org = new_org(faults={"failNext": ["unavailable", "server_error"]})
    sf = org.client()
    with pytest.raises(SalesforceGeneralError) as unavailable:
        sf.Account.create({"Name": "x"})
    assert unavailable.value.status == 503
    assert unavailable.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    with pytest.raises(SalesforceGeneralError) as broken:
        sf.Account.create({"Name": "x"})
    assert broken.value.status == 500
    error = broken.value.content[0]
    assert error["errorCode"] == "UNKNOWN_EXCEPTION"
    assert re.fullmatch(
        r"An unexpected error occurred\. Please include this ErrorId if you contact support:"
        r" \d+-\d+ \(-\d+\)",
        error["message"],
    )
    assert org.admin("GET", "/records/Account").json()["total"] == 0


def test_dropped_connection(new_org: Callable[..., SfOrg]) -> None:
    org = new_org(faults={"failNext": ["drop"]})
    sf = org.client()
    with pytest.raises(
        (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)
    ):
        sf.Account.create({"Name": "x"})
    assert sf.Account.create({"Name": "y"})["success"] is True


def test_timeout(new_org: Callable[..., SfOrg]) -> None:
    org = new_org(faults={"failNext": ["timeout"], "timeoutSeconds": 3})
    with pytest.raises(requests.exceptions.ReadTimeout):
        org.session.get(
            org.data_url.replace("http://", "https://") + "/sobjects",
            headers={"Authorization": f"Bearer {org.token}"},
            timeout=0.5,
        )


def test_latency(new_org: Callable[..., SfOrg]) -> None:
    org = new_org(faults={"latencyMs": 200})
    sf = org.client()
    started = time.monotonic()
    sf.Account.create({"Name": "slow"})
    assert time.monotonic() - started >= 0.2


def test_faulted_calls_are_counted_but_do_not_spend_the_allocation(
    new_org: Callable[..., SfOrg],
) -> None:
    org = new_org(faults={"failNext": ["unavailable", "rate_limited"]})
    http = org.http()
    assert [http.post("/sobjects/Account/", json={"Name": "x"}).status_code for _ in range(3)] == [
        503,
        403,
        201,
    ]
    assert org.stats() == {"sobject.create": 3}
    assert org.client().limits()["DailyApiRequests"]["Remaining"] == 5_000_000 - 2


def test_token_dies_early_with_token_lifetime_fault(new_org: Callable[..., SfOrg]) -> None:
    org = new_org(faults={"tokenLifetimeSeconds": 0})
    response = org.http().get("/sobjects")
    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_drop_after_write_creates_the_record_the_client_never_hears_of(
    new_org: Callable[..., SfOrg],
) -> None:
    org = new_org(faults={"failNext": ["drop_after_write"]})
    sf = org.client()
    with pytest.raises(
        (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)
    ):
        sf.Contact.create({"LastName": "Lost", "Email": "sf@example.com"})
    found = org.admin("GET", "/records/Contact").json()["records"]
    assert [r["Email"] for r in found] == ["sf@example.com"]
    assert sf.Contact.create({"LastName": "Next"})["success"] is True  # only the next one

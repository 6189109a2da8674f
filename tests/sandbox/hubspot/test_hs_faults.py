"""Injected faults rendered as HubSpot answers, and urllib3's own retries of 429/503."""

from __future__ import annotations

import json
from typing import Any

import pytest
import urllib3
from hubspot.crm.contacts import ApiException
from hubspot.crm.contacts import SimplePublicObjectInputForCreate as ContactCreate
from hubspot.crm.contacts.exceptions import ServiceException, UnauthorizedException

from sandbox.hubspot.hs_support import HsTenant


def test_four_rate_limit_faults_exhaust_the_client_retries(new_hs: Any) -> None:
    hs: HsTenant = new_hs(faults={"failNext": ["rate_limited"] * 4, "retryAfterSeconds": 0})
    with pytest.raises(ApiException) as caught:
        hs.client().crm.contacts.basic_api.get_page()
    assert caught.value.status == 429
    body = json.loads(caught.value.body)
    assert body["policyName"] == "TEN_SECONDLY_ROLLING" and body["errorType"] == "RATE_LIMIT"
    assert caught.value.headers["Retry-After"] == "0"
    assert hs.stats()["objects.list"] == 4  # the first try and urllib3's three retries


def test_the_client_retries_reads_past_two_faults(new_hs: Any) -> None:
    hs: HsTenant = new_hs(
        faults={"failNext": ["rate_limited", "unavailable"], "retryAfterSeconds": 0}
    )
    assert hs.client().crm.contacts.basic_api.get_page().results == []
    assert hs.stats()["objects.list"] == 3


def test_posts_are_not_retried_by_urllib3(new_hs: Any) -> None:
    # urllib3 only retries idempotent methods, so a create sees the first 429.
    hs: HsTenant = new_hs(faults={"failNext": ["rate_limited"], "retryAfterSeconds": 0})
    with pytest.raises(ApiException) as caught:
        hs.client().crm.contacts.basic_api.create(ContactCreate(properties={"email": "r@x.io"}))
    assert caught.value.status == 429
    assert hs.records("contacts") == []  # faults answer before anything is written
    created = hs.client().crm.contacts.basic_api.create(
        ContactCreate(properties={"email": "r@x.io"})
    )
    assert created.properties["email"] == "r@x.io" and hs.stats()["objects.create"] == 2


def test_server_error_is_not_retried(new_hs: Any) -> None:
    hs: HsTenant = new_hs(faults={"failNext": ["server_error"]})
    with pytest.raises(ServiceException) as caught:
        hs.client().crm.contacts.basic_api.create(ContactCreate(properties={"email": "s@x.io"}))
    assert caught.value.status == 500
    assert json.loads(caught.value.body)["category"] == "INTERNAL_ERROR"
    assert hs.records("contacts") == [] and hs.stats()["objects.create"] == 1


def test_unavailable_503_with_retry_after(new_hs: Any) -> None:
    hs: HsTenant = new_hs(faults={"failNext": ["unavailable"], "retryAfterSeconds": 7})
    answer = hs.http().get("/crm/v3/objects/contacts")
    assert answer.status_code == 503 and answer.headers["retry-after"] == "7"
    assert answer.json()["status"] == "error"


def test_dropped_connection_reaches_the_client(new_hs: Any) -> None:
    hs: HsTenant = new_hs(faults={"failNext": ["drop"] * 4})
    with pytest.raises(urllib3.exceptions.HTTPError):
        hs.client().crm.contacts.basic_api.get_page()


def test_short_token_lifetime_fault_expires_tokens(new_hs: Any) -> None:
    hs: HsTenant = new_hs(faults={"tokenLifetimeSeconds": 0})
    with pytest.raises(UnauthorizedException) as caught:
        hs.client().crm.contacts.basic_api.get_page()
    assert json.loads(caught.value.body)["category"] == "EXPIRED_AUTHENTICATION"


def test_faults_come_after_the_token_check(new_hs: Any) -> None:
    hs: HsTenant = new_hs(faults={"failNext": ["server_error"]})
    with pytest.raises(UnauthorizedException):
        hs.client(token="bogus").crm.contacts.basic_api.get_page()
    with pytest.raises(ServiceException):  # the queued fault is still there for a real call
        hs.client().crm.contacts.basic_api.get_page()


def test_drop_after_write_creates_the_record_the_client_never_hears_of(new_hs: Any) -> None:
    hs: HsTenant = new_hs(faults={"failNext": ["drop_after_write"]})
    contacts = hs.no_retry_client().crm.contacts.basic_api
    with pytest.raises(urllib3.exceptions.HTTPError):
        contacts.create(ContactCreate(properties={"email": "hs@example.com"}))
    assert [r["properties"]["email"] for r in hs.records("contacts")] == ["hs@example.com"]
    assert contacts.create(ContactCreate(properties={"email": "next@example.com"})).id

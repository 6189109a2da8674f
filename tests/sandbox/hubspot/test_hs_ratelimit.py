"""Rate limits: TEN_SECONDLY_ROLLING and DAILY windows, headers, 429 bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hubspot.crm.contacts import ApiException

from sandbox.hubspot.hs_support import HsTenant

LIMITS = {"rateLimits": "on", "tenSecondlyLimit": 3, "dailyLimit": 1000}


def test_headers_count_down_then_429(new_hs: Any) -> None:
    hs: HsTenant = new_hs(settings=LIMITS)
    http = hs.http()
    remaining = []
    for _ in range(3):
        answer = http.get("/crm/v3/objects/contacts")
        assert answer.status_code == 200
        assert answer.headers["x-hubspot-ratelimit-max"] == "3"
        assert answer.headers["x-hubspot-ratelimit-interval-milliseconds"] == "10000"
        assert "x-hubspot-ratelimit-daily" not in answer.headers  # OAuth apps get no daily headers
        remaining.append(int(answer.headers["x-hubspot-ratelimit-remaining"]))
    assert remaining == [2, 1, 0]
    limited = http.get("/crm/v3/objects/contacts")
    assert limited.status_code == 429
    body = limited.json()
    assert body["errorType"] == "RATE_LIMIT" and body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert body["status"] == "error" and body["correlationId"] and body["requestId"]
    assert body["groupName"].endswith(f":{hs.info['appId']}:{hs.hub_id}")
    assert 1 <= int(limited.headers["retry-after"]) <= 10
    assert limited.headers["x-hubspot-ratelimit-remaining"] == "0"


def test_client_sees_the_429(new_hs: Any) -> None:
    hs: HsTenant = new_hs(settings=LIMITS)
    api = hs.no_retry_client().crm.contacts.basic_api
    for _ in range(3):
        api.get_page()
    with pytest.raises(ApiException) as caught:
        api.get_page()
    assert caught.value.status == 429
    assert json.loads(caught.value.body)["policyName"] == "TEN_SECONDLY_ROLLING"


def test_daily_limit_and_private_app_headers(new_hs: Any) -> None:
    settings = {**LIMITS, "tenSecondlyLimit": 100, "dailyLimit": 2, "tokenStyle": "private_app"}
    hs: HsTenant = new_hs(settings=settings)
    http = hs.http()
    first = http.get("/crm/v3/objects/contacts")
    assert first.headers["x-hubspot-ratelimit-daily"] == "2"
    assert first.headers["x-hubspot-ratelimit-daily-remaining"] == "1"
    http.get("/crm/v3/objects/contacts")
    limited = http.get("/crm/v3/objects/contacts")
    assert limited.status_code == 429 and limited.json()["policyName"] == "DAILY"
    assert limited.json()["message"] == "You have reached your daily limit."
    assert "retry-after" not in limited.headers
    assert "private_app-api-calls-daily" in limited.json()["groupName"]


def test_limits_off_by_default_and_switchable(hs: HsTenant) -> None:
    http = hs.http()
    for _ in range(5):
        answer = http.get("/crm/v3/objects/contacts")
        assert answer.status_code == 200 and "x-hubspot-ratelimit-max" not in answer.headers
    hs.set_settings(rateLimits="on", tenSecondlyLimit=2)
    assert [http.get("/crm/v3/objects/contacts").status_code for _ in range(3)] == [200, 200, 429]
    hs.set_settings(rateLimits="off")
    assert http.get("/crm/v3/objects/contacts").status_code == 200


def test_bad_settings_are_refused(sandbox: Any) -> None:
    answer = sandbox.admin.post(
        "/_sandbox/tenants", json={"provider": "hubspot", "settings": {"rateLimits": "sometimes"}}
    )
    assert answer.status_code == 400 and "rateLimits" in answer.json()["error"]

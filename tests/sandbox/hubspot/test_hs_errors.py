"""Error envelopes: auth, conflicts, property validation, not found, bad input."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from hubspot.crm.contacts import ApiException, SimplePublicObjectInput
from hubspot.crm.contacts import SimplePublicObjectInputForCreate as ContactCreate
from hubspot.crm.contacts.exceptions import UnauthorizedException
from hubspot.crm.objects import ApiException as ObjectsApiException
from hubspot.crm.objects import SimplePublicObjectInputForCreate as ObjectCreate

from sandbox.hubspot.hs_support import HsTenant


def create_error(hs: HsTenant, properties: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    with pytest.raises(ApiException) as caught:
        hs.client().crm.contacts.basic_api.create(ContactCreate(properties=properties))
    return caught.value.status, json.loads(caught.value.body)


def test_missing_and_unknown_token_401(hs: HsTenant) -> None:
    for token in ("not-a-token", "pat-na1-00000000-0000-0000-0000-000000000000"):
        with pytest.raises(UnauthorizedException) as caught:
            hs.client(token=token).crm.contacts.basic_api.get_page()
        body = json.loads(caught.value.body)
        assert body["category"] == "INVALID_AUTHENTICATION" and body["status"] == "error"
        assert body["message"].startswith("Authentication credentials not found.")
        uuid.UUID(body["correlationId"])
        assert caught.value.headers["X-HubSpot-Correlation-Id"] == body["correlationId"]
    bare = hs.http().get("/crm/v3/objects/contacts", headers={"Authorization": ""})
    assert bare.status_code == 401


def test_expired_token_401_names_the_expiry(hs: HsTenant) -> None:
    api = hs.client().crm.contacts.basic_api
    api.get_page()
    expired = hs.sandbox.admin.post(f"{hs.admin_base}/tokens/expire", json={})
    assert expired.json()["expired"] == 1
    with pytest.raises(UnauthorizedException) as caught:
        api.get_page()
    body = json.loads(caught.value.body)
    assert body["category"] == "EXPIRED_AUTHENTICATION"
    assert re.fullmatch(
        r"The OAuth token used to make this call expired \d+ second\(s\) ago\.", body["message"]
    )
    assert list(body["context"]) == ["expire time"]


def test_duplicate_email_is_409_conflict(hs: HsTenant) -> None:
    first = hs.client().crm.contacts.basic_api.create(ContactCreate(properties={"email": "a@b.io"}))
    status, body = create_error(hs, {"email": "A@B.io"})
    assert status == 409 and body["category"] == "CONFLICT"
    assert body["message"] == f"Contact already exists. Existing ID: {first.id}"
    # updating another contact to the taken address is refused too
    other = hs.client().crm.contacts.basic_api.create(ContactCreate(properties={"email": "c@b.io"}))
    with pytest.raises(ApiException) as caught:
        hs.client().crm.contacts.basic_api.update(
            other.id, SimplePublicObjectInput(properties={"email": "a@b.io"})
        )
    assert caught.value.status == 409


def test_unknown_properties_give_one_error_each(hs: HsTenant) -> None:
    status, body = create_error(hs, {"first000name": "A", "email": "ok@b.io", "last000name": "B"})
    assert status == 400 and body["category"] == "VALIDATION_ERROR"
    assert body["errors"] == [
        {
            "message": 'Property "first000name" does not exist',
            "code": "PROPERTY_DOESNT_EXIST",
            "context": {"propertyName": ["first000name"]},
        },
        {
            "message": 'Property "last000name" does not exist',
            "code": "PROPERTY_DOESNT_EXIST",
            "context": {"propertyName": ["last000name"]},
        },
    ]
    prefix = "Property values were not valid: "
    assert body["message"].startswith(prefix)
    embedded = json.loads(body["message"][len(prefix) :])
    assert [e["name"] for e in embedded] == ["first000name", "last000name"]
    assert embedded[0]["error"] == "PROPERTY_DOESNT_EXIST" and embedded[0]["portalId"] == hs.hub_id
    assert hs.records("contacts") == []


@pytest.mark.parametrize(
    ("properties", "code", "message"),
    [
        ({"email": "jane@example"}, "INVALID_EMAIL", "Email address jane@example is invalid"),
        ({"loyalty_points": "1/1/1"}, "INVALID_LONG", "1/1/1 was not a valid long."),
        (
            {"newsletter_opt_in": "yes"},
            "INVALID_OPTION",
            "yes was not one of the allowed options: [true, false]",
        ),
        (
            {"customer_tier": "platinum"},
            "INVALID_OPTION",
            "platinum was not one of the allowed options: [bronze, silver, gold]",
        ),
        (
            {"interests": "crm;golf"},
            "INVALID_OPTION",
            "golf was not one of the allowed options: [crm, marketing, sales, service]",
        ),
        (
            {"first_purchase_date": "1579179660000"},
            "INVALID_DATE",
            "1579179660000 is at 13:1:0.0 UTC, not midnight!",
        ),
        ({"first_purchase_date": "soon"}, "INVALID_DATE", "soon was not a valid date."),
        ({"closedate": "tomorrow"}, "INVALID_DATE", "tomorrow was not a valid datetime."),
        (
            {"createdate": "2020-01-01"},
            "READ_ONLY_VALUE",
            "createdate is a read only property; its value cannot be set.",
        ),
    ],
)
def test_property_type_checks(
    hs: HsTenant, properties: dict[str, str], code: str, message: str
) -> None:
    status, body = create_error(hs, properties)
    assert status == 400
    assert body["errors"] == [
        {"message": message, "code": code, "context": {"propertyName": list(properties)}}
    ]


def test_valid_values_are_normalised(hs: HsTenant) -> None:
    created = hs.client().crm.contacts.basic_api.create(
        ContactCreate(
            properties={
                "loyalty_points": 12.5,
                "newsletter_opt_in": True,
                "first_purchase_date": "1579132800000",
                "closedate": "2024-05-01T12:30:00+02:00",
                "interests": "crm;sales",
            }
        )
    )
    props = created.properties
    assert props["loyalty_points"] == "12.5" and props["newsletter_opt_in"] == "true"
    assert props["first_purchase_date"] == "2020-01-16"
    assert props["closedate"] == "2024-05-01T10:30:00.000Z"
    assert props["interests"] == "crm;sales"


def test_unknown_object_type_and_unknown_id(hs: HsTenant) -> None:
    with pytest.raises(ObjectsApiException) as caught:
        hs.client().crm.objects.basic_api.create("butterflies", ObjectCreate(properties={}))
    assert caught.value.status == 400
    assert (
        json.loads(caught.value.body)["message"] == "Unable to infer object type from: butterflies"
    )
    missing = hs.http().get("/crm/v3/objects/contacts/12345")
    assert missing.status_code == 404
    assert (
        missing.json()["message"] == "resource not found"
        and missing.json()["category"] == "OBJECT_NOT_FOUND"
    )


def test_not_found_settings(new_hs: Any) -> None:
    default: HsTenant = new_hs()
    assert default.http().delete("/crm/v3/objects/contacts/12345").status_code == 204
    strict: HsTenant = new_hs(settings={"archiveMissingStatus": 404, "notFoundBody": "empty"})
    assert strict.http().delete("/crm/v3/objects/contacts/12345").status_code == 404
    empty = strict.http().get("/crm/v3/objects/contacts/12345")
    assert empty.status_code == 404 and empty.content == b""


def test_unique_value_conflict_styles(new_hs: Any) -> None:
    for style, status, category in (
        ("conflict", 409, "CONFLICT"),
        ("validation", 400, "VALIDATION_ERROR"),
    ):
        hs: HsTenant = new_hs(settings={"uniqueValueConflict": style})
        api = hs.client().crm.objects.basic_api
        first = api.create(
            "2-1234567", ObjectCreate(properties={"name": "a", "touchpoint_key": "k1"})
        )
        with pytest.raises(ObjectsApiException) as caught:
            api.create(
                "p_touchpoints", ObjectCreate(properties={"name": "b", "touchpoint_key": "k1"})
            )
        body = json.loads(caught.value.body)
        assert caught.value.status == status and body["category"] == category
        assert first.id in body["message"]


def test_malformed_json_and_missing_inputs(hs: HsTenant) -> None:
    http = hs.http()
    bad = http.post(
        "/crm/v3/objects/contacts", content=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert bad.status_code == 400 and bad.json()["message"].startswith("Invalid input JSON")
    no_inputs = http.post("/crm/v3/objects/contacts/batch/create", json={})
    assert no_inputs.status_code == 400
    assert no_inputs.json()["message"].endswith("Some required fields were not set: [inputs]")
    unknown_path = http.get("/crm/v3/nothing-here/at/all/really")
    assert unknown_path.status_code == 404 and unknown_path.json()["status"] == "error"

"""Properties API: field metadata, and created properties taking part in writes."""

from __future__ import annotations

import json

import pytest
from hubspot.crm.contacts import ApiException as ContactsApiException
from hubspot.crm.contacts import SimplePublicObjectInputForCreate as ContactCreate
from hubspot.crm.properties import (
    ApiException,
    CollectionResponsePropertyNoPaging,
    ModelProperty,
    PropertyCreate,
    PropertyUpdate,
)
from hubspot.crm.properties.exceptions import NotFoundException

from sandbox.hubspot.hs_support import HsTenant


def test_list_and_get_property_metadata(hs: HsTenant) -> None:
    api = hs.client().crm.properties.core_api
    listed = api.get_all("contacts")
    assert isinstance(listed, CollectionResponsePropertyNoPaging)
    by_name = {p.name: p for p in listed.results}
    assert by_name["email"].has_unique_value is True and by_name["email"].hubspot_defined is True
    assert by_name["createdate"].modification_metadata.read_only_value is True
    assert by_name["external_id"].hubspot_defined is None  # absent on portal-made properties
    stage = api.get_by_name("deals", "dealstage")
    assert isinstance(stage, ModelProperty) and stage.type == "enumeration"
    assert "closedwon" in [o.value for o in stage.options]
    with pytest.raises(NotFoundException):
        api.get_by_name("contacts", "no_such_property")


def test_created_property_is_validated_on_writes(hs: HsTenant) -> None:
    api = hs.client().crm.properties.core_api
    made = api.create(
        "contacts",
        PropertyCreate(
            name="favourite_fruit",
            label="Favourite fruit",
            type="enumeration",
            field_type="select",
            group_name="contactinformation",
            options=[{"label": "Apple", "value": "apple"}, {"label": "Pear", "value": "pear"}],
        ),
    )
    assert isinstance(made, ModelProperty)  # only a 201 is deserialized
    assert made.name == "favourite_fruit" and made.modification_metadata.archivable is True
    contacts = hs.client().crm.contacts.basic_api
    ok = contacts.create(ContactCreate(properties={"favourite_fruit": "pear"}))
    assert ok.properties["favourite_fruit"] == "pear"
    with pytest.raises(ContactsApiException) as caught:
        contacts.create(ContactCreate(properties={"favourite_fruit": "kiwi"}))
    assert json.loads(caught.value.body)["errors"][0]["code"] == "INVALID_OPTION"
    with pytest.raises(ApiException) as caught:
        api.create(
            "contacts",
            PropertyCreate(
                name="favourite_fruit", label="x", type="string", field_type="text", group_name="g"
            ),
        )
    assert caught.value.status == 409


def test_update_and_archive_a_property(hs: HsTenant) -> None:
    api = hs.client().crm.properties.core_api
    api.create(
        "deals",
        PropertyCreate(
            name="region",
            label="Region",
            type="string",
            field_type="text",
            group_name="dealinformation",
        ),
    )
    changed = api.update("deals", "region", PropertyUpdate(label="Sales region"))
    assert changed.label == "Sales region"
    assert api.archive("deals", "region") is None
    with pytest.raises(NotFoundException):
        api.get_by_name("deals", "region")
    with pytest.raises(ApiException) as caught:
        api.archive("deals", "dealname")
    assert caught.value.status == 400


def test_new_unique_property_rejects_duplicates(hs: HsTenant) -> None:
    hs.client().crm.properties.core_api.create(
        "companies",
        PropertyCreate(
            name="vat_number",
            label="VAT",
            type="string",
            field_type="text",
            group_name="companyinformation",
            has_unique_value=True,
        ),
    )
    http = hs.http()
    assert (
        http.post(
            "/crm/v3/objects/companies", json={"properties": {"vat_number": "NO1"}}
        ).status_code
        == 201
    )
    again = http.post("/crm/v3/objects/companies", json={"properties": {"vat_number": "NO1"}})
    assert again.status_code == 409 and again.json()["category"] == "CONFLICT"


def test_bad_property_definitions_are_400(hs: HsTenant) -> None:
    http = hs.http()
    no_options = http.post(
        "/crm/v3/properties/contacts",
        json={
            "name": "flag",
            "label": "Flag",
            "type": "bool",
            "fieldType": "booleancheckbox",
            "groupName": "g",
        },
    )
    assert no_options.status_code == 400
    assert "Boolean properties must have exactly two options" in no_options.json()["message"]
    bad_name = http.post(
        "/crm/v3/properties/contacts",
        json={
            "name": "Bad Name",
            "label": "x",
            "type": "string",
            "fieldType": "text",
            "groupName": "g",
        },
    )
    assert bad_name.status_code == 400 and bad_name.json()["category"] == "VALIDATION_ERROR"

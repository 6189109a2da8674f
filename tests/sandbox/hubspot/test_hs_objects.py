"""Single-object CRM v3 endpoints through hubspot-api-client."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from hubspot.crm.contacts import ApiException as ContactsApiException
from hubspot.crm.contacts import SimplePublicObject
from hubspot.crm.contacts import SimplePublicObjectInput as ContactInput
from hubspot.crm.contacts import SimplePublicObjectInputForCreate as ContactCreate
from hubspot.crm.contacts.exceptions import NotFoundException
from hubspot.crm.objects import SimplePublicObjectInputForCreate as ObjectCreate

from sandbox.hubspot.hs_support import HsTenant


def test_create_returns_201_object_with_system_properties(hs: HsTenant) -> None:
    created = hs.client().crm.contacts.basic_api.create(
        ContactCreate(properties={"email": "Lily@Example.com", "firstname": "Lily"})
    )
    assert isinstance(created, SimplePublicObject)  # only a 201 is deserialized
    assert created.id.isdigit() and len(created.id) == 12
    props = created.properties
    assert props["email"] == "lily@example.com" and props["firstname"] == "Lily"
    assert props["hs_object_id"] == created.id
    assert props["hs_email_domain"] == "example.com"
    assert props["lifecyclestage"] == "lead"
    assert props["createdate"] == props["lastmodifieddate"]
    assert isinstance(created.created_at, datetime) and created.archived is False


def test_ids_increase(hs: HsTenant) -> None:
    api = hs.client().crm.companies.basic_api
    from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyCreate

    first = api.create(CompanyCreate(properties={"name": "A"}))
    second = api.create(CompanyCreate(properties={"name": "B"}))
    assert int(second.id) > int(first.id)


def test_get_default_and_selected_properties_and_id_property(hs: HsTenant) -> None:
    api = hs.client().crm.contacts.basic_api
    created = api.create(ContactCreate(properties={"email": "a@b.co", "city": "Oslo"}))
    default = api.get_by_id(created.id)
    assert set(default.properties) == {
        "createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"
    }  # fmt: skip
    assert default.properties["firstname"] is None and "city" not in default.properties
    picked = api.get_by_id(created.id, properties=["city", "nope"], archived=False)
    assert picked.properties["city"] == "Oslo" and "nope" not in picked.properties
    by_email = api.get_by_id("A@B.CO", id_property="email")
    assert by_email.id == created.id


def test_update_archive_and_read_archived(hs: HsTenant) -> None:
    api = hs.client().crm.contacts.basic_api
    created = api.create(ContactCreate(properties={"email": "u@b.co"}))
    updated = api.update(
        created.id, ContactInput(properties={"firstname": "Una", "email": "u2@b.co"})
    )
    assert isinstance(updated, SimplePublicObject)  # the client wants exactly 200
    assert (
        updated.properties["firstname"] == "Una" and updated.properties["hs_email_domain"] == "b.co"
    )
    assert updated.updated_at >= created.updated_at
    assert api.archive(created.id) is None
    with pytest.raises(NotFoundException) as caught:
        api.get_by_id(created.id)
    assert json.loads(caught.value.body)["category"] == "OBJECT_NOT_FOUND"
    archived = api.get_by_id(created.id, archived=True)
    assert archived.archived is True and archived.archived_at is not None
    # the email is free again once its contact is archived
    assert api.create(ContactCreate(properties={"email": "u2@b.co"})).id != created.id


def test_update_by_id_property_and_empty_update(hs: HsTenant) -> None:
    api = hs.client().crm.contacts.basic_api
    api.create(ContactCreate(properties={"email": "x@y.io"}))
    updated = api.update("x@y.io", ContactInput(properties={"lastname": "Y"}), id_property="email")
    assert updated.properties["lastname"] == "Y"
    with pytest.raises(ContactsApiException) as caught:
        api.update(updated.id, ContactInput(properties={}))
    assert caught.value.status == 400
    assert "No properties found to update" in json.loads(caught.value.body)["message"]


def test_list_pages_with_after(hs: HsTenant) -> None:
    client = hs.client()
    from hubspot.crm.deals import SimplePublicObjectInputForCreate as DealCreate

    ids = [
        client.crm.deals.basic_api.create(DealCreate(properties={"dealname": f"d{i}"})).id
        for i in range(5)
    ]
    first = client.crm.deals.basic_api.get_page(limit=2)
    assert [d.id for d in first.results] == ids[:2]
    assert first.paging.next.after == ids[2]
    every = client.crm.deals.get_all()
    assert [d.id for d in every] == ids
    assert every[0].properties["pipeline"] == "default"


def test_custom_object_by_id_fqn_and_short_name(hs: HsTenant) -> None:
    custom = hs.info["customObject"]
    assert custom["objectTypeId"] == "2-1234567"
    assert custom["fullyQualifiedName"] == f"p{hs.hub_id}_touchpoints"
    api = hs.client().crm.objects.basic_api
    created = api.create(
        "2-1234567",
        ObjectCreate(properties={"name": "Webinar", "channel": "event", "score": "4.5"}),
    )
    assert created.properties["hs_createdate"] and created.properties["hs_object_id"] == created.id
    assert api.get_by_id(custom["fullyQualifiedName"], created.id).id == created.id
    got = api.get_by_id("p_touchpoints", created.id, properties=["channel"])
    assert got.properties["channel"] == "event"
    assert len(hs.records("touchpoints")) == 1


def test_dated_path_form_used_by_ampersand(hs: HsTenant) -> None:
    http = hs.http()
    created = http.post("/crm/objects/2026-03/tickets", json={"properties": {"subject": "Help"}})
    assert created.status_code == 201, created.text
    body = created.json()
    assert (
        body["properties"]["hs_pipeline"] == "0" and body["properties"]["hs_pipeline_stage"] == "1"
    )
    deleted = http.delete(f"/crm/objects/2026-03/tickets/{body['id']}")
    assert deleted.status_code == 204
    assert http.get(f"/crm/v3/objects/tickets/{body['id']}").status_code == 404

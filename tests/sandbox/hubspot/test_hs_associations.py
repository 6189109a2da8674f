"""Associations: inline on create, v4 single and batch endpoints, real type ids."""

from __future__ import annotations

import json

import pytest
from hubspot.crm.associations.v4 import (
    ApiException as AssocApiException,
)
from hubspot.crm.associations.v4 import (
    AssociationSpec,
    BatchInputPublicAssociationMultiArchive,
    BatchInputPublicAssociationMultiPost,
    BatchInputPublicDefaultAssociationMultiPost,
    BatchInputPublicFetchAssociationsBatchRequest,
    BatchResponseLabelsBetweenObjectPair,
    BatchResponseLabelsBetweenObjectPairWithErrors,
    BatchResponsePublicAssociationMultiWithLabelWithErrors,
    BatchResponsePublicDefaultAssociation,
    LabelsBetweenObjectPair,
)
from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyCreate
from hubspot.crm.contacts import ApiException as ContactsApiException
from hubspot.crm.contacts import SimplePublicObjectInputForCreate as ContactCreate
from hubspot.crm.deals import SimplePublicObjectInputForCreate as DealCreate

from sandbox.hubspot.hs_support import HsTenant

UNLABELED = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}


def company(hs: HsTenant, name: str = "Acme") -> str:
    return hs.client().crm.companies.basic_api.create(CompanyCreate(properties={"name": name})).id


def contact(hs: HsTenant, email: str) -> str:
    api = hs.client().crm.contacts.basic_api
    return api.create(ContactCreate(properties={"email": email})).id


def test_inline_association_279_on_create_is_stored_both_ways(hs: HsTenant) -> None:
    company_id = company(hs)
    client = hs.client()
    created = client.crm.contacts.basic_api.create(
        ContactCreate(
            properties={"email": "in@line.io"},
            associations=[{"to": {"id": company_id}, "types": [UNLABELED]}],
        )
    )
    read = client.crm.contacts.basic_api.get_by_id(created.id, associations=["companies"])
    links = read.associations["companies"].results
    assert [(a.id, a.type) for a in links] == [(company_id, "contact_to_company_unlabeled")]
    back = client.crm.associations.v4.basic_api.get_page("companies", company_id, "contacts")
    assert [r.to_object_id for r in back.results] == [created.id]
    assert [(t.type_id, t.category, t.label) for t in back.results[0].association_types] == [
        (280, "HUBSPOT_DEFINED", None)
    ]


def test_inline_association_to_missing_record_is_400_and_writes_nothing(hs: HsTenant) -> None:
    with pytest.raises(ContactsApiException) as caught:
        hs.client().crm.contacts.basic_api.create(
            ContactCreate(
                properties={"email": "x@y.io"},
                associations=[{"to": {"id": "123"}, "types": [UNLABELED]}],
            )
        )
    body = json.loads(caught.value.body)
    assert caught.value.status == 400 and body["category"] == "VALIDATION_ERROR"
    assert body["message"] == "One or more associations are invalid"
    assert body["context"]["INVALID_OBJECT_IDS"] == ["COMPANY=123 is not valid"]
    assert hs.records("contacts") == []


def test_inline_association_with_wrong_type_id_is_400(hs: HsTenant) -> None:
    company_id = company(hs)
    wrong = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}  # deal→contact
    with pytest.raises(ContactsApiException) as caught:
        hs.client().crm.contacts.basic_api.create(
            ContactCreate(
                properties={"email": "x@y.io"},
                associations=[{"to": {"id": company_id}, "types": [wrong]}],
            )
        )
    assert caught.value.status == 400
    assert "INVALID_ASSOCIATION_TYPES" in json.loads(caught.value.body)["context"]


def test_v4_labelled_put_201_primary_brings_unlabeled(hs: HsTenant) -> None:
    contact_id, first, second = contact(hs, "p@x.io"), company(hs, "One"), company(hs, "Two")
    api = hs.client().crm.associations.v4.basic_api
    primary = [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=1)]
    pair = api.create("contacts", contact_id, "companies", first, primary)
    assert isinstance(pair, LabelsBetweenObjectPair)  # only a 201 is deserialized
    assert pair.from_object_type_id == "0-1" and pair.to_object_type_id == "0-2"
    assert pair.from_object_id == contact_id and pair.labels == ["Primary"]
    listed = api.get_page("contact", contact_id, "company")
    assert [t.type_id for t in listed.results[0].association_types] == [1, 279]
    # a contact has one primary company: the new one takes over
    api.create("contacts", contact_id, "companies", second, primary)
    types = {
        r.to_object_id: [t.type_id for t in r.association_types]
        for r in api.get_page("contacts", contact_id, "companies").results
    }
    assert types == {first: [279], second: [1, 279]}


def test_v4_default_put_200_lists_both_directions(hs: HsTenant) -> None:
    deal_id = hs.client().crm.deals.basic_api.create(DealCreate(properties={"dealname": "D"})).id
    contact_id = contact(hs, "d@x.io")
    answer = hs.client().crm.associations.v4.basic_api.create_default(
        "deals", deal_id, "contacts", contact_id
    )
    assert isinstance(answer, BatchResponsePublicDefaultAssociation)
    specs = [(r._from.id, r.to.id, r.association_spec.association_type_id) for r in answer.results]
    assert specs == [(deal_id, contact_id, 3), (contact_id, deal_id, 4)]


def test_v4_put_errors(hs: HsTenant) -> None:
    contact_id, company_id = contact(hs, "e@x.io"), company(hs)
    api = hs.client().crm.associations.v4.basic_api
    unknown = [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=99999)]
    with pytest.raises(AssocApiException) as caught:
        api.create("contacts", contact_id, "companies", company_id, unknown)
    assert caught.value.status == 400 and "99999" in json.loads(caught.value.body)["message"]
    wrong_category = [AssociationSpec(association_category="USER_DEFINED", association_type_id=279)]
    with pytest.raises(AssocApiException):
        api.create("contacts", contact_id, "companies", company_id, wrong_category)
    missing = [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=279)]
    with pytest.raises(AssocApiException) as caught:
        api.create("contacts", contact_id, "companies", "777", missing)
    assert json.loads(caught.value.body)["context"]["INVALID_OBJECT_IDS"] == [
        "COMPANY=777 is not valid"
    ]


def test_v4_batch_create_201_then_207(hs: HsTenant) -> None:
    contact_id, company_id = contact(hs, "b@x.io"), company(hs)
    batch = hs.client().crm.associations.v4.batch_api
    ok = batch.create(
        "contacts",
        "companies",
        BatchInputPublicAssociationMultiPost(
            inputs=[{"from": {"id": contact_id}, "to": {"id": company_id}, "types": [UNLABELED]}]
        ),
    )
    assert isinstance(ok, BatchResponseLabelsBetweenObjectPair)
    assert ok.results[0].to_object_id == company_id and ok.results[0].labels == []
    other = contact(hs, "c@x.io")
    partial = batch.create(
        "contacts",
        "contacts",
        BatchInputPublicAssociationMultiPost(
            inputs=[
                {
                    "from": {"id": contact_id},
                    "to": {"id": other},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 449}],
                },
                {
                    "from": {"id": contact_id},
                    "to": {"id": "unknown_id_1"},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 449}],
                },
                {
                    "from": {"id": contact_id},
                    "to": {"id": contact_id},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 449}],
                },
            ]
        ),
    )
    assert isinstance(partial, BatchResponseLabelsBetweenObjectPairWithErrors)
    assert len(partial.results) == 1 and partial.num_errors == 2
    invalid, itself = partial.errors
    assert invalid.sub_category == "crm.associations.INVALID_IDENTIFIER"
    assert invalid.message == "unknown_id_1 is not a valid ID"
    assert itself.message == f"Object {contact_id} cannot be associated to itself ({contact_id})"
    assert hs.stats()["associations.batch.create"] == 2


def test_dated_association_batch_path_used_by_ampersand(hs: HsTenant) -> None:
    contact_id, company_id = contact(hs, "amp@x.io"), company(hs)
    answer = hs.http().post(
        "/crm/associations/2026-03/0-1/0-2/batch/create",
        json={
            "inputs": [{"from": {"id": contact_id}, "to": {"id": company_id}, "types": [UNLABELED]}]
        },
    )
    assert answer.status_code == 201, answer.text
    assert hs.records("contacts")[0]["associations"] == {
        "companies": [{"id": company_id, "typeIds": [279]}]
    }


def test_v4_batch_read_default_archive_and_labels(hs: HsTenant) -> None:
    contact_id, company_id, lonely = contact(hs, "r@x.io"), company(hs), contact(hs, "l@x.io")
    batch = hs.client().crm.associations.v4.batch_api
    made = batch.create_default(
        "contacts",
        "companies",
        BatchInputPublicDefaultAssociationMultiPost(
            inputs=[{"from": {"id": contact_id}, "to": {"id": company_id}}]
        ),
    )
    assert isinstance(made, BatchResponsePublicDefaultAssociation)
    read = batch.get_page(
        "contacts",
        "companies",
        BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": contact_id}, {"id": lonely}]),
    )
    assert isinstance(read, BatchResponsePublicAssociationMultiWithLabelWithErrors)
    assert read.results[0].to[0].to_object_id == company_id
    assert read.errors[0].sub_category == "crm.associations.NO_ASSOCIATIONS_FOUND"
    labels = hs.http().get("/crm/v4/associations/contacts/companies/labels").json()["results"]
    assert {"category": "HUBSPOT_DEFINED", "typeId": 1, "label": "Primary"} in labels
    assert {"category": "USER_DEFINED", "typeId": 931, "label": "Billing contact"} in labels
    batch.archive(
        "contacts",
        "companies",
        BatchInputPublicAssociationMultiArchive(
            inputs=[{"from": {"id": contact_id}, "to": [{"id": company_id}]}]
        ),
    )
    back = hs.client().crm.associations.v4.basic_api.get_page("companies", company_id, "contacts")
    assert back.results == []


def test_v4_delete_pair_204(hs: HsTenant) -> None:
    contact_id, company_id = contact(hs, "del@x.io"), company(hs)
    api = hs.client().crm.associations.v4.basic_api
    api.create_default("contacts", contact_id, "companies", company_id)
    assert api.archive("contacts", contact_id, "companies", company_id) is None
    assert api.get_page("contacts", contact_id, "companies").results == []


def test_schema_lists_association_type_ids(hs: HsTenant) -> None:
    schema = hs.client().crm.schemas.core_api.get_by_id("contacts")
    assert schema.object_type_id == "0-1" and schema.fully_qualified_name == "CONTACT"
    ids = {
        (a.to_object_type_id, a.id) for a in schema.associations if a.from_object_type_id == "0-1"
    }
    assert {("0-2", "279"), ("0-2", "1"), ("0-3", "4"), ("2-1234567", "1101")} <= ids
    dated = hs.http().get("/crm-object-schemas/2026-03/schemas/p_touchpoints").json()
    assert dated["objectTypeId"] == "2-1234567" and dated["metaType"] == "PORTAL_SPECIFIC"
    custom = hs.client().crm.schemas.core_api.get_all().results
    assert [s.fully_qualified_name for s in custom] == [f"p{hs.hub_id}_touchpoints"]


def test_archiving_a_record_drops_its_associations(hs: HsTenant) -> None:
    contact_id, company_id = contact(hs, "gone@x.io"), company(hs)
    hs.client().crm.associations.v4.basic_api.create_default(
        "contacts", contact_id, "companies", company_id
    )
    hs.client().crm.contacts.basic_api.archive(contact_id)
    back = hs.client().crm.associations.v4.basic_api.get_page("companies", company_id, "contacts")
    assert back.results == []

"""sObject Collections through `sf.restful(...)`: create, update, delete, retrieve, upsert."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

    from sandbox.salesforce.conftest import SfOrg

ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using"
    " AllOrNone header",
    "fields": [],
}
MISSING_LAST_NAME = {
    "statusCode": "REQUIRED_FIELD_MISSING",
    "message": "Required fields are missing: [LastName]",
    "fields": ["LastName"],
}


def contact(**fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Contact"}, **fields}


def create(sf: Salesforce, records: list[dict[str, Any]], all_or_none: bool) -> Any:
    return sf.restful(
        "composite/sobjects", method="POST", json={"allOrNone": all_or_none, "records": records}
    )


def test_create_mixed_types_in_order(sf: Salesforce, org: SfOrg) -> None:
    results = create(
        sf,
        [
            {"attributes": {"type": "Account"}, "Name": "A"},
            contact(LastName="B"),
            {"attributes": {"type": "touchpoints__c"}, "Channel__c": "Web"},
        ],
        all_or_none=False,
    )
    assert [r["success"] for r in results] == [True, True, True]
    assert [r["id"][:3] for r in results] == ["001", "003", "a05"]
    assert all(r["errors"] == [] for r in results)
    assert sf.Contact.get(results[1]["id"])["LastName"] == "B"
    assert org.stats() == {"collections.create": 1, "sobject.get": 1}


def test_all_or_none_false_keeps_the_good_records(sf: Salesforce, org: SfOrg) -> None:
    results = create(sf, [contact(LastName="Good"), contact(FirstName="Bad")], all_or_none=False)
    assert results[0]["success"] is True and "id" in results[0]
    assert results[1] == {"success": False, "errors": [MISSING_LAST_NAME]}
    assert org.admin("GET", "/records/Contact").json()["total"] == 1


def test_all_or_none_true_rolls_everything_back(sf: Salesforce, org: SfOrg) -> None:
    results = create(
        sf, [contact(LastName="Good", Email="g@x.com"), contact(FirstName="Bad")], all_or_none=True
    )
    assert results == [
        {"success": False, "errors": [ROLLED_BACK]},
        {"success": False, "errors": [MISSING_LAST_NAME]},
    ]
    assert org.admin("GET", "/records/Contact").json()["total"] == 0
    # the rolled-back email is free again: no duplicate rule fires
    assert create(sf, [contact(LastName="Again", Email="g@x.com")], True)[0]["success"] is True


def test_all_or_none_failure_status_setting(new_org: Callable[..., SfOrg]) -> None:
    org = new_org(settings={"allOrNoneFailureStatus": 400})
    sf = org.client()
    with pytest.raises(SalesforceMalformedRequest) as caught:
        create(sf, [contact(LastName="Good"), contact()], all_or_none=True)
    assert caught.value.status == 400
    assert caught.value.content[0] == {"success": False, "errors": [ROLLED_BACK]}
    # without allOrNone the same failure is a 200
    results = create(sf, [contact(LastName="Good"), contact()], all_or_none=False)
    assert results[0]["success"] is True


def test_update_collection(sf: Salesforce) -> None:
    first = sf.Contact.create({"LastName": "One"})["id"]
    second = sf.Contact.create({"LastName": "Two"})["id"]
    deleted = sf.Contact.create({"LastName": "Three"})["id"]
    sf.Contact.delete(deleted)
    results = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                contact(id=first, Title="CEO"),
                contact(Id=second[:15], LastName="Deux"),
                contact(LastName="No id"),
                contact(id="003xyz", LastName="Bad"),
                contact(id=deleted, LastName="Deleted"),
                {"attributes": {"type": "Account"}, "id": first, "Name": "Wrong type"},
                contact(id=first, unknownField_LastName="x"),
            ],
        },
    )
    assert results[0] == {"id": first, "success": True, "errors": []}
    assert results[1] == {"id": second, "success": True, "errors": []}
    assert results[2]["errors"] == [
        {
            "statusCode": "MISSING_ARGUMENT",
            "message": "Id not specified in an update call",
            "fields": [],
        }
    ]
    assert results[3]["errors"] == [
        {"statusCode": "MALFORMED_ID", "message": "malformed id 003xyz", "fields": []}
    ]
    assert results[4]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    assert results[5]["errors"] == [
        {
            "statusCode": "MALFORMED_ID",
            "message": f"Account ID: id value of incorrect type: {first}",
            "fields": ["Id"],
        }
    ]
    assert results[6]["errors"] == [
        {
            "statusCode": "INVALID_FIELD",
            "message": "No such column 'unknownField_LastName' on sobject of type Contact",
            "fields": [],
        }
    ]
    assert all("id" not in r for r in results[2:])
    assert sf.Contact.get(first)["Title"] == "CEO"
    assert sf.Contact.get(second)["LastName"] == "Deux"


def test_update_all_or_none_restores_previous_values(sf: Salesforce) -> None:
    first = sf.Contact.create({"LastName": "Keep"})["id"]
    results = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "allOrNone": True,
            "records": [contact(id=first, LastName="Changed"), contact(id=first, LastName=None)],
        },
    )
    assert results[0] == {"success": False, "errors": [ROLLED_BACK]}
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert sf.Contact.get(first)["LastName"] == "Keep"


def test_delete_collection(sf: Salesforce, org: SfOrg) -> None:
    account = sf.Account.create({"Name": "A"})["id"]
    person = sf.Contact.create({"LastName": "C"})["id"]
    results = sf.restful(
        "composite/sobjects",
        method="DELETE",
        params={"ids": f"{account},{person},001bad", "allOrNone": "false"},
    )
    assert results == [
        {"id": account, "success": True, "errors": []},
        {"id": person, "success": True, "errors": []},
        {
            "success": False,
            "errors": [
                {"statusCode": "MALFORMED_ID", "message": "malformed id 001bad", "fields": []}
            ],
        },
    ]
    again = sf.restful("composite/sobjects", method="DELETE", params={"ids": account})
    assert again[0]["errors"] == [
        {"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}
    ]
    assert org.admin("GET", "/records/Account").json()["total"] == 0


def test_delete_all_or_none_keeps_everything(sf: Salesforce) -> None:
    account = sf.Account.create({"Name": "Stay"})["id"]
    results = sf.restful(
        "composite/sobjects",
        method="DELETE",
        params={"ids": f"{account},001bad", "allOrNone": "true"},
    )
    assert results[0] == {"success": False, "errors": [ROLLED_BACK]}
    assert sf.Account.get(account)["Name"] == "Stay"


def test_retrieve_collection(sf: Salesforce) -> None:
    first = sf.Account.create({"Name": "One"})["id"]
    second = sf.Account.create({"Name": "Two"})["id"]
    missing = first[:-4] + ("zzzz" if first[-4:] != "zzzz" else "yyyy")
    unknown = sf.Account.create({"Name": "Tmp"})["id"]
    sf.Account.delete(unknown)
    got = sf.restful(
        "composite/sobjects/Account",
        params={"ids": f"{first},{second[:15]},{unknown}", "fields": "id,name"},
    )
    assert got == [
        {
            "attributes": {
                "type": "Account",
                "url": f"/services/data/v62.0/sobjects/Account/{first}",
            },
            "Id": first,
            "Name": "One",
        },
        {
            "attributes": {
                "type": "Account",
                "url": f"/services/data/v62.0/sobjects/Account/{second}",
            },
            "Id": second,
            "Name": "Two",
        },
        None,
    ]
    posted = sf.restful(
        "composite/sobjects/account", method="POST", json={"ids": [first], "fields": ["Name"]}
    )
    assert posted[0]["Name"] == "One"
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite/sobjects/Account", params={"ids": missing})  # no fields


def test_upsert_collection(sf: Salesforce, org: SfOrg) -> None:
    existing = sf.touchpoints__c.create({"External_Id__c": "T-1", "Channel__c": "Web"})["id"]
    results = sf.restful(
        "composite/sobjects/touchpoints__c/External_Id__c",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "touchpoints__c"}, "External_Id__c": "t-1", "Score__c": 5},
                {"attributes": {"type": "touchpoints__c"}, "External_Id__c": "T-2"},
                {"attributes": {"type": "touchpoints__c"}, "Score__c": 1},
                {"attributes": {"type": "touchpoints__c"}, "External_Id__c": "DUP"},
                {"attributes": {"type": "touchpoints__c"}, "External_Id__c": "dup"},
            ],
        },
    )
    assert results[0] == {"id": existing, "success": True, "errors": [], "created": False}
    assert results[1]["created"] is True and results[1]["success"] is True
    assert results[2]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    assert [r["errors"][0]["statusCode"] for r in results[3:]] == ["DUPLICATE_EXTERNAL_ID"] * 2
    assert sf.touchpoints__c.get(existing)["Score__c"] == 5.0
    assert org.stats()["collections.upsert"] == 1


def test_malformed_collection_requests(sf: Salesforce, new_org: Callable[..., SfOrg]) -> None:
    with pytest.raises(SalesforceMalformedRequest) as empty:
        create(sf, [], all_or_none=False)
    assert empty.value.content == [
        {"message": "At least 1 record is required", "errorCode": "REQUIRED_FIELD_MISSING"}
    ]
    with pytest.raises(SalesforceMalformedRequest) as too_many:
        create(sf, [contact(LastName=str(i)) for i in range(201)], all_or_none=False)
    assert too_many.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    with pytest.raises(SalesforceMalformedRequest) as typed:
        create(sf, [contact(LastName="ok"), contact(LastName="x", Birthdate="yesterday")], False)
    assert typed.value.content[0]["errorCode"] == "JSON_PARSER_ERROR"
    assert sf.restful("limits/recordCount")["sObjects"][1] == {"count": 0, "name": "Contact"}
    untyped = create(sf, [{"LastName": "x"}, {"attributes": {"type": "Nope"}}], False)
    assert untyped[0]["errors"][0] == {
        "statusCode": "INVALID_TYPE",
        "message": "Must send a concrete entity type.",
        "fields": [],
    }
    assert untyped[1]["errors"][0]["statusCode"] == "INVALID_TYPE"
    assert "sObject type 'Nope' is not supported" in untyped[1]["errors"][0]["message"]
    small = new_org(settings={"collectionsMaxRecords": 2}).client()
    with pytest.raises(SalesforceMalformedRequest):
        create(small, [contact(LastName=str(i)) for i in range(3)], all_or_none=False)


def test_duplicate_rule_inside_a_collection(sf: Salesforce) -> None:
    results = create(
        sf,
        [contact(LastName="A", Email="same@x.com"), contact(LastName="B", Email="SAME@x.com")],
        all_or_none=False,
    )
    assert results[0]["success"] is True
    assert results[1]["errors"][0]["statusCode"] == "DUPLICATES_DETECTED"
    allowed = sf.restful(
        "composite/sobjects",
        method="POST",
        json={"records": [contact(LastName="C", Email="same@x.com")]},
        headers={"Sforce-Duplicate-Rule-Header": "allowSave=true"},
    )
    assert allowed[0]["success"] is True


def test_collections_unknown_object_in_url(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("composite/sobjects/Nope", params={"ids": "001000000000000", "fields": "Id"})

"""Single-record endpoints through simple-salesforce: create, get, update, delete, upsert."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from simple_salesforce.exceptions import (
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

    from sandbox.salesforce.conftest import SfOrg

SF_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")


def test_create_returns_the_real_body_and_stores_typed_values(sf: Salesforce, org: SfOrg) -> None:
    created = sf.Account.create(
        {
            "Name": "Acme",
            "Industry": "Banking",
            "NumberOfEmployees": "250",
            "AnnualRevenue": 1200000.4,
            "Health_Score__c": 87.456,
            "BillingCity": "Paris",
            "BillingCountry": "France",
            "Website": "https://acme.example",
        }
    )
    assert set(created) == {"id", "success", "errors"}
    assert created["success"] is True and created["errors"] == []
    record = sf.Account.get(created["id"])
    assert record["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v62.0/sobjects/Account/{created['id']}",
    }
    assert record["Id"] == created["id"] and record["Name"] == "Acme"
    assert record["NumberOfEmployees"] == 250
    assert record["AnnualRevenue"] == 1200000.0  # currency(18, 0) rounds
    assert record["Health_Score__c"] == 87.46  # percent(5, 2)
    assert record["BillingAddress"] == {
        "city": "Paris",
        "country": "France",
        "geocodeAccuracy": None,
        "latitude": None,
        "longitude": None,
        "postalCode": None,
        "state": None,
        "street": None,
    }
    assert record["Phone"] is None and record["IsDeleted"] is False
    assert (
        SF_DATETIME.match(record["CreatedDate"])
        and record["CreatedDate"] == record["LastModifiedDate"]
    )
    user = org.tenant["userId"]
    assert record["OwnerId"] == record["CreatedById"] == record["LastModifiedById"] == user


def test_names_are_case_insensitive_and_answers_use_canonical_case(sf: Salesforce) -> None:
    created = sf.account.create({"name": "lower", "INDUSTRY": "Energy", "external_id__C": "E-1"})
    record = sf.ACCOUNT.get(created["id"])
    assert record["attributes"]["type"] == "Account"
    assert (record["Name"], record["Industry"], record["External_Id__c"]) == (
        "lower",
        "Energy",
        "E-1",
    )
    assert "name" not in record
    only = sf.Account.get(created["id"], params={"fields": "name,industry"})
    assert list(only) == ["attributes", "Name", "Industry"]
    custom = sf.TouchPoints__C.create({"channel__c": "Email"})["id"]
    assert sf.touchpoints__c.get(custom)["attributes"]["type"] == "touchpoints__c"


def test_compound_name_and_derived_fields(sf: Salesforce) -> None:
    contact = sf.Contact.create({"FirstName": "Ada", "LastName": "Lovelace", "Salutation": "Ms."})
    got = sf.Contact.get(contact["id"])
    assert got["Name"] == "Ada Lovelace" and got["HasOptedOutOfEmail"] is False
    sf.Contact.update(contact["id"], {"FirstName": None})
    assert sf.Contact.get(contact["id"])["Name"] == "Lovelace"
    lead = sf.Lead.get(sf.Lead.create({"LastName": "Byron", "Company": "Poets"})["id"])
    assert lead["Status"] == "Open - Not Contacted" and lead["IsConverted"] is False
    assert lead["Address"] is None
    won = sf.Opportunity.create(
        {"Name": "Deal", "StageName": "Closed Won", "CloseDate": "2025-06-30", "Amount": "99.999"}
    )
    opp = sf.Opportunity.get(won["id"])
    assert (opp["IsClosed"], opp["IsWon"], opp["Amount"]) == (True, True, 100.0)
    touch = sf.touchpoints__c.get(sf.touchpoints__c.create({"Channel__c": "Web"})["id"])
    assert touch["Name"] == touch["Id"]  # an empty custom-object Name takes the id
    assert touch["Converted__c"] is False


def test_datetime_values_are_normalised_to_utc(sf: Salesforce) -> None:
    created = sf.touchpoints__c.create(
        {"Channel__c": "Event", "Occurred_At__c": "2025-03-01T10:30:00+02:00"}
    )
    got = sf.touchpoints__c.get(created["id"])
    assert got["Occurred_At__c"] == "2025-03-01T08:30:00.000+0000"


def test_update_returns_204_and_changes_only_given_fields(sf: Salesforce) -> None:
    created = sf.Account.create({"Name": "Before", "Phone": "123"})["id"]
    before = sf.Account.get(created)
    assert sf.Account.update(created, {"Name": "After", "Phone": None}) == 204
    after = sf.Account.get(created)
    assert (after["Name"], after["Phone"]) == ("After", None)
    assert after["CreatedDate"] == before["CreatedDate"]
    assert after["SystemModstamp"] >= before["SystemModstamp"]
    same_id_in_body = sf.Account.update(created, {"Id": created, "Site": "HQ"})
    assert same_id_in_body == 204 and sf.Account.get(created)["Site"] == "HQ"


def test_post_with_http_method_override_is_a_patch(org: SfOrg, sf: Salesforce) -> None:
    created = sf.Account.create({"Name": "Override"})["id"]
    response = org.http().post(
        f"/sobjects/Account/{created}", params={"_HttpMethod": "PATCH"}, json={"Name": "Patched"}
    )
    assert response.status_code == 204, response.text
    assert sf.Account.get(created)["Name"] == "Patched"
    assert org.stats()["sobject.update"] == 1


def test_delete_then_entity_is_deleted(sf: Salesforce, org: SfOrg) -> None:
    created = sf.Contact.create({"LastName": "Gone"})["id"]
    assert sf.Contact.delete(created) == 204
    for call in (
        lambda: sf.Contact.get(created),
        lambda: sf.Contact.delete(created),
        lambda: sf.Contact.update(created, {"LastName": "x"}),
    ):
        with pytest.raises(SalesforceResourceNotFound) as caught:
            call()
        assert caught.value.status == 404
        assert caught.value.content == [
            {"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}
        ]
    kept = org.admin("GET", f"/records/Contact/{created}").json()
    assert kept["IsDeleted"] is True


def test_trailing_slashes_are_accepted(org: SfOrg) -> None:
    http = org.http()
    created = http.post("/sobjects/Account/", json={"Name": "Slash"}).json()["id"]
    assert http.get(f"/sobjects/Account/{created}/").status_code == 200
    assert http.get("/sobjects/Account/describe/").status_code == 200
    assert http.get("/sobjects/").status_code == 200


def test_upsert_creates_201_updates_200_and_multiple_300(sf: Salesforce, org: SfOrg) -> None:
    assert sf.Account.upsert("External_Id__c/ACME-1", {"Name": "Acme"}) == 201
    assert sf.Account.upsert("external_id__c/acme-1", {"Name": "Acme 2"}) == 200
    found = sf.Account.get_by_custom_id("External_Id__c", "ACME-1")
    assert found["Name"] == "Acme 2" and found["External_Id__c"] == "ACME-1"
    raw = org.http().patch("/sobjects/Account/External_Id__c/NEW-9", json={"Name": "N"})
    assert raw.status_code == 201
    assert raw.json() == {"id": raw.json()["id"], "success": True, "errors": [], "created": True}
    again = org.http().patch("/sobjects/Account/External_Id__c/NEW-9", json={"Name": "M"})
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["id"] == raw.json()["id"]
    # Account.External_Id__c is not unique, so two records can share a value
    first = sf.Account.create({"Name": "Twin 1", "External_Id__c": "TWIN"})["id"]
    second = sf.Account.create({"Name": "Twin 2", "External_Id__c": "twin"})["id"]
    with pytest.raises(SalesforceMoreThanOneRecord) as caught:
        sf.Account.upsert("External_Id__c/TWIN", {"Name": "Which?"})
    assert caught.value.status == 300
    assert sorted(caught.value.content) == sorted(
        f"/services/data/v62.0/sobjects/Account/{i}" for i in (first, second)
    )
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Account.get_by_custom_id("External_Id__c", "TWIN")
    assert org.stats()["sobject.upsert"] == 5


def test_upsert_before_api_46_answers_204_on_update(org: SfOrg) -> None:
    old = org.client(version="45.0")
    assert old.Account.upsert("External_Id__c/OLD-1", {"Name": "Old"}) == 201
    assert old.Account.upsert("External_Id__c/OLD-1", {"Name": "Older"}) == 204
    response = org.http().patch(
        f"{org.sandbox.url}/services/data/v45.0/sobjects/Account/External_Id__c/OLD-2",
        json={"Name": "x"},
    )
    assert response.status_code == 201 and "created" not in response.json()


def test_upsert_update_only_and_unknown_external_field(sf: Salesforce, org: SfOrg) -> None:
    http = org.http()
    missing = http.patch(
        "/sobjects/Account/External_Id__c/NOPE", params={"updateOnly": "true"}, json={"Name": "x"}
    )
    assert missing.status_code == 404 and missing.json()[0]["errorCode"] == "NOT_FOUND"
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Account.upsert("Website/abc", {"Name": "x"})  # a field, but not an external id
    assert caught.value.content == [
        {
            "message": "Provided external ID field does not exist or is not accessible: Website",
            "errorCode": "NOT_FOUND",
        }
    ]


def test_upsert_by_id_updates(sf: Salesforce) -> None:
    created = sf.Account.create({"Name": "ById"})["id"]
    assert sf.Account.upsert(f"Id/{created}", {"Name": "Updated by Id"}) == 200
    assert sf.Account.get(created)["Name"] == "Updated by Id"


def test_get_and_delete_by_external_id(sf: Salesforce, org: SfOrg) -> None:
    sf.touchpoints__c.create({"Channel__c": "Ads", "External_Id__c": "TP-1"})
    got = sf.touchpoints__c.get_by_custom_id("External_Id__c", "tp-1")
    assert got["External_Id__c"] == "TP-1"
    deleted = org.http().delete("/sobjects/touchpoints__c/External_Id__c/TP-1")
    assert deleted.status_code == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.touchpoints__c.get_by_custom_id("External_Id__c", "TP-1")


def test_references_are_stored_as_18_char_ids(sf: Salesforce) -> None:
    account = sf.Account.create({"Name": "Parent"})["id"]
    contact = sf.Contact.create({"LastName": "Child", "AccountId": account[:15]})["id"]
    assert sf.Contact.get(contact)["AccountId"] == account
    touch = sf.touchpoints__c.create({"Contact__c": contact, "Account__c": account})["id"]
    got = sf.touchpoints__c.get(touch)
    assert (got["Contact__c"], got["Account__c"]) == (contact, account)


def test_each_endpoint_is_counted(new_org: Callable[..., SfOrg]) -> None:
    org = new_org()
    sf = org.client()
    created = sf.Lead.create({"LastName": "Count", "Company": "C"})["id"]
    sf.Lead.get(created)
    sf.Lead.update(created, {"Title": "CEO"})
    sf.Lead.delete(created)
    sf.Lead.metadata()
    sf.Lead.describe()
    sf.describe()
    assert org.stats() == {
        "sobject.create": 1,
        "sobject.get": 1,
        "sobject.update": 1,
        "sobject.delete": 1,
        "sobject.basic_info": 1,
        "sobject.describe": 1,
        "describe.global": 1,
    }

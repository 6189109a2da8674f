"""Error codes, statuses and bodies as simple-salesforce receives them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

    from sandbox.salesforce.conftest import SfOrg


def refused(call: Callable[[], Any]) -> list[dict[str, Any]]:
    """The error array of a 400."""
    with pytest.raises(SalesforceMalformedRequest) as caught:
        call()
    assert caught.value.status == 400
    return list(caught.value.content)


def test_required_field_missing(sf: Salesforce) -> None:
    assert refused(lambda: sf.Opportunity.create({"Amount": 5})) == [
        {
            "message": "Required fields are missing: [Name, StageName, CloseDate]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["Name", "StageName", "CloseDate"],
        }
    ]
    created = sf.Contact.create({"LastName": "Keep"})["id"]
    assert refused(lambda: sf.Contact.update(created, {"LastName": ""}))[0]["fields"] == [
        "LastName"
    ]


def test_invalid_field(sf: Salesforce) -> None:
    assert refused(lambda: sf.Account.create({"Name": "x", "AccountNumer": "1"})) == [
        {
            "message": "No such column 'AccountNumer' on sobject of type Account",
            "errorCode": "INVALID_FIELD",
        }
    ]
    created = sf.Account.create({"Name": "x"})["id"]
    error = refused(lambda: sf.Account.get(created, params={"fields": "Name,Nope__c"}))[0]
    assert error["errorCode"] == "INVALID_FIELD"
    assert error["message"].startswith("No such column 'Nope__c' on entity 'Account'.")


def test_invalid_field_for_insert_update(sf: Salesforce) -> None:
    assert refused(lambda: sf.Contact.create({"LastName": "x", "Name": "Full", "IsDeleted": True}))[
        0
    ] == {
        "message": "Unable to create/update fields: Name, IsDeleted. Please check the security"
        " settings of this field and verify that it is read/write for your profile or"
        " permission set.",
        "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
        "fields": ["Name", "IsDeleted"],
    }
    assert refused(lambda: sf.Account.create({"Name": "x", "Id": "001000000000000"}))[0] == {
        "message": "cannot specify Id in an insert call",
        "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
        "fields": ["Id"],
    }
    created = sf.Account.create({"Name": "x"})["id"]
    error = refused(lambda: sf.Account.update(created, {"CreatedById": created}))[0]
    assert error["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_malformed_and_wrong_type_ids(sf: Salesforce) -> None:
    contact = sf.Contact.create({"LastName": "c"})["id"]
    assert refused(lambda: sf.Account.update(contact, {"Name": "x"})) == [
        {
            "message": f"Account ID: id value of incorrect type: {contact}",
            "errorCode": "MALFORMED_ID",
            "fields": ["Id"],
        }
    ]
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Account.get("not-an-id")
    assert caught.value.content == [
        {
            "message": "Provided external ID field does not exist or is not accessible: not-an-id",
            "errorCode": "NOT_FOUND",
        }
    ]


def test_wrong_type_id_setting_not_found(new_org: Callable[..., SfOrg]) -> None:
    sf = new_org(settings={"wrongTypeIdOnUpdate": "NOT_FOUND"}).client()
    contact = sf.Contact.create({"LastName": "c"})["id"]
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Account.update(contact, {"Name": "x"})
    assert caught.value.content[0]["message"] == (
        f"Provided external ID field does not exist or is not accessible: {contact}"
    )


def test_not_found(sf: Salesforce, org: SfOrg) -> None:
    created = sf.Account.create({"Name": "x"})["id"]
    sf.Account.delete(created)
    other = created[:6] + "zzzzzzzzz"
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Account.get(other)
    assert caught.value.status == 404
    assert caught.value.content == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]
    unknown_path = org.http().get("/no/such/thing")
    assert unknown_path.status_code == 404
    assert unknown_path.json() == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]
    old_version = org.http().get(f"{org.sandbox.url}/services/data/v20.0/sobjects")
    assert old_version.status_code == 404 and old_version.json()[0]["errorCode"] == "NOT_FOUND"


def test_unknown_sobject_per_setting(sf: Salesforce, new_org: Callable[..., SfOrg]) -> None:
    with pytest.raises(SalesforceResourceNotFound) as default:
        sf.Accout.create({"Name": "x"})
    assert default.value.content[0]["errorCode"] == "NOT_FOUND"
    strict = new_org(settings={"unknownSObjectError": "INVALID_TYPE"}).client()
    assert refused(lambda: strict.Accout.create({"Name": "x"})) == [
        {
            "message": "sObject type 'Accout' is not supported. If you are attempting to use a"
            " custom object, be sure to append the '__c' after the entity name. Please reference"
            " your WSDL or the describe call for the appropriate names.",
            "errorCode": "INVALID_TYPE",
        }
    ]


def test_string_too_long(sf: Salesforce) -> None:
    code = "X" * 21
    assert refused(lambda: sf.touchpoints__c.create({"Campaign_Code__c": code})) == [
        {
            "message": f"Campaign Code: data value too large: {code} (max length=20)",
            "errorCode": "STRING_TOO_LONG",
            "fields": ["Campaign_Code__c"],
        }
    ]


def test_restricted_picklist(sf: Salesforce) -> None:
    assert refused(lambda: sf.Account.create({"Name": "x", "Industry": "Piracy"})) == [
        {
            "message": "Industry: bad value for restricted picklist field: Piracy",
            "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "fields": ["Industry"],
        }
    ]
    # an unrestricted picklist takes any value
    assert sf.Account.create({"Name": "x", "Type": "Pirate"})["success"] is True


def test_several_value_problems_are_reported_together(sf: Salesforce) -> None:
    errors = refused(
        lambda: sf.Contact.create({"LastName": "x", "Email": "not-an-email", "Title": "T" * 129})
    )
    assert [e["errorCode"] for e in errors] == ["INVALID_EMAIL_ADDRESS", "STRING_TOO_LONG"]
    assert errors[0]["message"] == "Email: invalid email address: not-an-email"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("Score__c", "abc", "Cannot deserialize instance of double from VALUE_STRING value abc"),
        (
            "Converted__c",
            "yes",
            "Cannot deserialize instance of boolean from VALUE_STRING value yes",
        ),
        ("Score__c", True, "Cannot deserialize instance of double from VALUE_TRUE value true"),
        ("Occurred_At__c", "2025-13-01T00:00:00Z", "instance of datetime from VALUE_STRING"),
        ("Occurred_At__c", "yesterday", "instance of datetime from VALUE_STRING value yesterday"),
        ("Campaign_Code__c", {"a": 1}, "instance of string from START_OBJECT value {"),
    ],
)
def test_wrong_json_types_are_parser_errors(
    sf: Salesforce, field: str, value: Any, expected: str
) -> None:
    error = refused(lambda: sf.touchpoints__c.create({field: value}))[0]
    assert error["errorCode"] == "JSON_PARSER_ERROR"
    assert expected in error["message"]
    assert "or request may be missing a required field at [line:1, column:" in error["message"]


def test_date_format_and_number_range(sf: Salesforce) -> None:
    error = refused(lambda: sf.Contact.create({"LastName": "x", "Birthdate": "31/12/1990"}))[0]
    assert error["errorCode"] == "JSON_PARSER_ERROR"
    assert "instance of date from VALUE_STRING value 31/12/1990" in error["message"]
    assert refused(lambda: sf.Account.create({"Name": "x", "NumberOfEmployees": 10**9})) == [
        {
            "message": "Employees: value outside of valid range on numeric field: 1000000000",
            "errorCode": "NUMBER_OUTSIDE_VALID_RANGE",
            "fields": ["NumberOfEmployees"],
        }
    ]
    ok = sf.Account.create({"Name": "x", "NumberOfEmployees": "12", "AnnualRevenue": "1e3"})
    assert sf.Account.get(ok["id"])["AnnualRevenue"] == 1000.0


def test_invalid_json_and_empty_body(org: SfOrg) -> None:
    http = org.http()
    broken = http.post(
        "/sobjects/Account/",
        content=b'{"Name": x}',
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 400
    assert broken.json() == [
        {
            "message": "Unexpected character ('x' (code 120)): expected a valid value (JSON"
            " String, Number, Array, Object or token 'null', 'true' or 'false') at"
            " [line:1, column:10]",
            "errorCode": "JSON_PARSER_ERROR",
        }
    ]
    empty = http.post("/sobjects/Account/", content=b"")
    assert empty.json() == [
        {
            "message": "The HTTP entity body is required, but this request has no entity body.",
            "errorCode": "JSON_PARSER_ERROR",
        }
    ]
    array = http.post("/sobjects/Account/", json=[{"Name": "x"}])
    assert array.status_code == 400 and array.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_lookups_must_exist(sf: Salesforce) -> None:
    account = sf.Account.create({"Name": "Parent"})["id"]
    sf.Account.delete(account)
    assert refused(lambda: sf.Contact.create({"LastName": "x", "AccountId": account})) == [
        {"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": ["AccountId"]}
    ]
    never = account[:6] + "000000001"
    assert refused(lambda: sf.Contact.create({"LastName": "x", "AccountId": never})) == [
        {
            "message": "invalid cross reference id",
            "errorCode": "INVALID_CROSS_REFERENCE_KEY",
            "fields": ["AccountId"],
        }
    ]
    contact = sf.Contact.create({"LastName": "c"})["id"]
    assert refused(lambda: sf.Contact.create({"LastName": "x", "AccountId": contact})) == [
        {
            "message": f"Account ID: id value of incorrect type: {contact}",
            "errorCode": "FIELD_INTEGRITY_EXCEPTION",
            "fields": ["AccountId"],
        }
    ]
    assert refused(lambda: sf.Contact.create({"LastName": "x", "AccountId": "garbage"})) == [
        {
            "message": "Account ID: id value of incorrect type: garbage",
            "errorCode": "MALFORMED_ID",
            "fields": ["AccountId"],
        }
    ]


def test_duplicates_detected_and_header_bypass(sf: Salesforce, org: SfOrg) -> None:
    first = sf.Contact.create({"LastName": "One", "Email": "dup@example.com"})["id"]
    errors = refused(lambda: sf.Contact.create({"LastName": "Two", "Email": "DUP@example.com"}))
    message = "You're creating a duplicate record. We recommend you use an existing record instead."
    assert errors == [
        {
            "duplicateResult": {
                "allowSave": True,
                "duplicateRule": "Standard_Contact_Duplicate_Rule",
                "duplicateRuleEntityType": "Contact",
                "errorMessage": message,
                "matchResults": [
                    {
                        "entityType": "Contact",
                        "errors": [],
                        "matchEngine": "FuzzyMatchEngine",
                        "matchRecords": [
                            {
                                "additionalInformation": [],
                                "fieldDiffs": [],
                                "matchConfidence": 100.0,
                                "record": {
                                    "attributes": {
                                        "type": "Contact",
                                        "url": f"/services/data/v62.0/sobjects/Contact/{first}",
                                    },
                                    "Id": first,
                                },
                            }
                        ],
                        "rule": "Standard_Contact_Match_Rule_v1_1",
                        "size": 1,
                        "success": True,
                    }
                ],
            },
            "message": message,
            "errorCode": "DUPLICATES_DETECTED",
        }
    ]
    header = {"Sforce-Duplicate-Rule-Header": "allowSave=true; includeRecordDetails=false"}
    second = sf.Contact.create({"LastName": "Two", "Email": "dup@example.com"}, headers=header)
    assert second["success"] is True
    other = sf.Contact.create({"LastName": "Three", "Email": "other@example.com"})["id"]
    assert (
        refused(lambda: sf.Contact.update(other, {"Email": "dup@example.com"}))[0]["errorCode"]
        == "DUPLICATES_DETECTED"
    )
    assert sf.Contact.update(other, {"Title": "unrelated"}) == 204
    lead = {"LastName": "L", "Company": "C", "Email": "lead@example.com"}
    sf.Lead.create(lead)
    assert refused(lambda: sf.Lead.create(lead))[0]["errorCode"] == "DUPLICATES_DETECTED"
    # other objects have no duplicate rule
    assert [sf.Account.create({"Name": "Same"})["success"] for _ in range(2)] == [True, True]


def test_block_rule_and_rules_off(new_org: Callable[..., SfOrg]) -> None:
    blocking = new_org(settings={"duplicateRuleAllowSave": False}).client()
    blocking.Contact.create({"LastName": "A", "Email": "b@example.com"})
    header = {"Sforce-Duplicate-Rule-Header": "allowSave=true"}
    errors = refused(
        lambda: blocking.Contact.create({"LastName": "B", "Email": "b@example.com"}, headers=header)
    )
    assert errors[0]["duplicateResult"]["allowSave"] is False
    free = new_org(settings={"duplicateRules": {}}).client()
    free.Contact.create({"LastName": "A", "Email": "b@example.com"})
    assert free.Contact.create({"LastName": "B", "Email": "b@example.com"})["success"] is True


def test_duplicate_value_on_unique_field(sf: Salesforce) -> None:
    first = sf.touchpoints__c.create({"External_Id__c": "U-1"})["id"]
    assert refused(lambda: sf.touchpoints__c.create({"External_Id__c": "u-1"})) == [
        {
            "message": "duplicate value found: External_Id__c duplicates value on record with id:"
            f" {first[:15]}",
            "errorCode": "DUPLICATE_VALUE",
        }
    ]


def test_invalid_session(org: SfOrg) -> None:
    bad = org.client(token="00D000000000000!nope")
    with pytest.raises(SalesforceExpiredSession) as caught:
        bad.Account.create({"Name": "x"})
    assert caught.value.status == 401
    assert caught.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    malformed = org.http().post(
        "/sobjects/Account/", json={"Name": "x"}, headers={"Authorization": "Basic abc"}
    )
    assert malformed.status_code == 401
    assert malformed.json() == [
        {"message": "INVALID_HEADER_TYPE", "errorCode": "INVALID_AUTH_HEADER"}
    ]


def test_expired_token(org: SfOrg) -> None:
    sf = org.client()
    sf.Account.create({"Name": "before"})
    expired = org.admin("POST", "/tokens/expire", json={"accessToken": org.token}).json()
    assert expired == {"expired": 1}
    with pytest.raises(SalesforceExpiredSession) as caught:
        sf.Account.create({"Name": "after"})
    assert caught.value.content[0]["errorCode"] == "INVALID_SESSION_ID"


def test_daily_api_limit(new_org: Callable[..., SfOrg]) -> None:
    org = new_org(settings={"dailyApiLimit": 3})
    sf = org.client()
    for i in range(3):
        sf.Account.create({"Name": str(i)})
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.Account.create({"Name": "over"})
    assert caught.value.status == 403
    assert caught.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    response = org.http().get("/sobjects")
    assert response.status_code == 403 and response.headers["Sforce-Limit-Info"] == "api-usage=3/3"
    assert org.admin("GET", "/records/Account").json()["total"] == 3
    raised = org.admin("PATCH", "/settings", json={"dailyApiLimit": 10})
    assert raised.status_code == 200
    assert sf.Account.create({"Name": "room again"})["success"] is True


def test_method_not_allowed(org: SfOrg) -> None:
    response = org.http().put("/sobjects/Account/", json={})
    assert response.status_code == 405
    assert response.json() == [
        {
            "message": "HTTP Method 'PUT' not allowed. Allowed are GET,POST",
            "errorCode": "METHOD_NOT_ALLOWED",
        }
    ]
    with pytest.raises(SalesforceGeneralError) as caught:
        org.client().restful("sobjects/Account/describe", method="DELETE")
    assert caught.value.status == 405


def test_every_rest_answer_carries_the_limit_header(org: SfOrg) -> None:
    http = org.http()
    ok = http.post("/sobjects/Account/", json={"Name": "x"})
    bad = http.post("/sobjects/Account/", json={})
    missing = http.get("/sobjects/Account/001000000000000")
    assert ok.headers["Sforce-Limit-Info"] == "api-usage=1/5000000"
    assert bad.headers["Sforce-Limit-Info"] == "api-usage=2/5000000"
    assert missing.headers["Sforce-Limit-Info"] == "api-usage=3/5000000"
    assert ok.headers["Content-Type"] == "application/json;charset=UTF-8"

"""The SOQL subset behind `GET /services/data/vXX.X/query`, through simple-salesforce."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

if TYPE_CHECKING:
    from sandbox.salesforce.conftest import SfOrg

VERSION = "62.0"


def error_of(sf: Salesforce, soql: str) -> dict[str, Any]:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query(soql)
    assert caught.value.status == 400
    content = caught.value.content
    assert isinstance(content, list) and len(content) == 1
    return dict(content[0])


@pytest.fixture
def people(org: SfOrg, sf: Salesforce) -> list[str]:
    made = []
    for last, email, employees in (
        ("Ada", "ada@example.com", None),
        ("Brook", "brook@example.com", 5),
        ("Cy", "cy@example.com", 50),
        ("Dee", None, 500),
    ):
        made.append(sf.Contact.create({"LastName": last, "Email": email})["id"])
        sf.Account.create({"Name": f"Acme {last}", "NumberOfEmployees": employees})
    return made


def test_query_with_simple_salesforce_answers_like_salesforce(
    org: SfOrg, sf: Salesforce, people: list[str]
) -> None:
    result = sf.query("SELECT Id, Email FROM Contact WHERE Email = 'brook@example.com'")
    assert result == {
        "totalSize": 1,
        "done": True,
        "records": [
            {
                "attributes": {
                    "type": "Contact",
                    "url": f"/services/data/v{VERSION}/sobjects/Contact/{people[1]}",
                },
                "Id": people[1],
                "Email": "brook@example.com",
            }
        ],
    }
    assert org.stats()["query"] == 1


def test_selected_fields_only_in_select_order_with_canonical_names(
    sf: Salesforce, people: list[str]
) -> None:
    result = sf.query("select email, lastname from contact where LASTNAME = 'ada'")
    assert [list(r) for r in result["records"]] == [["attributes", "Email", "LastName"]]
    assert result["records"][0]["LastName"] == "Ada"  # text compares case-insensitively


def test_and_in_not_in_null_and_comparisons(sf: Salesforce, people: list[str]) -> None:
    def names(soql: str) -> list[str]:
        return [r["Name"] for r in sf.query(soql)["records"]]

    assert names("SELECT Name FROM Contact WHERE Email = null") == ["Dee"]
    assert names("SELECT Name FROM Contact WHERE Email != null ORDER BY Name DESC") == [
        "Cy",
        "Brook",
        "Ada",
    ]
    assert names(
        "SELECT Name FROM Contact WHERE Email IN ('ada@example.com', 'CY@example.com')"
    ) == ["Ada", "Cy"]
    assert names("SELECT Name FROM Contact WHERE Email NOT IN ('ada@example.com')") == [
        "Brook",
        "Cy",
        "Dee",  # like !=, NOT IN keeps the nulls
    ]
    assert names("SELECT Name FROM Contact WHERE LastName LIKE '%O%' AND Email != null") == [
        "Brook"
    ]
    assert names(
        "SELECT Name FROM Account WHERE NumberOfEmployees >= 5 AND NumberOfEmployees < 500"
    ) == ["Acme Brook", "Acme Cy"]
    assert names("SELECT Name FROM Account WHERE NumberOfEmployees > 10") == [
        "Acme Cy",
        "Acme Dee",  # nulls never match a comparison
    ]
    assert names(f"SELECT Name FROM Contact WHERE Id = '{people[2][:15]}'") == ["Cy"]
    assert names("SELECT Name FROM Contact WHERE IsDeleted = false LIMIT 2") == ["Ada", "Brook"]


def test_order_by_nulls_limit_and_offset(sf: Salesforce, people: list[str]) -> None:
    def employees(soql: str) -> list[Any]:
        return [r["NumberOfEmployees"] for r in sf.query(soql)["records"]]

    base = "SELECT NumberOfEmployees FROM Account ORDER BY NumberOfEmployees"
    assert employees(base) == [None, 5, 50, 500]  # ascending: nulls first
    assert employees(base + " DESC") == [500, 50, 5, None]  # descending: nulls last
    assert employees(base + " ASC NULLS LAST LIMIT 3") == [5, 50, 500]
    assert employees(base + " DESC NULLS FIRST LIMIT 2 OFFSET 1") == [500, 50]
    result = sf.query(base + " LIMIT 0")
    assert result["totalSize"] == 0 and result["records"] == []


def test_created_date_compares_with_datetime_literals(sf: Salesforce) -> None:
    first = sf.Contact.create({"LastName": "Early"})["id"]
    record = sf.Contact.get(first)
    created = record["CreatedDate"]
    assert created.endswith("+0000") and len(created) == len("2026-12-02T10:00:00.000+0000")
    time.sleep(1.1)
    second = sf.Contact.create({"LastName": "Late"})["id"]
    late = sf.Contact.get(second)["CreatedDate"]
    boundary = late[:19] + "Z"  # second precision, so the late record is at or after it
    after = sf.query(f"SELECT Id, CreatedDate FROM Contact WHERE CreatedDate >= {boundary}")
    assert [r["Id"] for r in after["records"]] == [second]
    assert after["records"][0]["CreatedDate"] == late
    before = sf.query(f"SELECT Id FROM Contact WHERE CreatedDate < {boundary}")
    assert [r["Id"] for r in before["records"]] == [first]
    offset = sf.query(
        "SELECT Id FROM Contact WHERE SystemModstamp > 2000-01-01T00:00:00+01:00"
        " AND LastModifiedDate < 2999-01-01T00:00:00.000Z ORDER BY CreatedDate DESC"
    )
    assert [r["Id"] for r in offset["records"]] == [second, first]


def test_deleted_records_are_not_returned(sf: Salesforce) -> None:
    kept = sf.Contact.create({"LastName": "Same", "Email": "kept@example.com"})["id"]
    gone = sf.Contact.create({"LastName": "Same", "Email": "gone@example.com"})["id"]
    sf.Contact.delete(gone)
    result = sf.query("SELECT Id FROM Contact WHERE LastName = 'Same'")
    assert result["totalSize"] == 1 and [r["Id"] for r in result["records"]] == [kept]


def test_string_escapes(sf: Salesforce) -> None:
    sf.Contact.create({"LastName": "O'Brien \\ Sons"})
    result = sf.query("SELECT LastName FROM Contact WHERE LastName = 'o\\'brien \\\\ sons'")
    assert [r["LastName"] for r in result["records"]] == ["O'Brien \\ Sons"]


def test_or_not_and_parentheses(sf: Salesforce, people: list[str]) -> None:
    def names(soql: str) -> list[str]:
        return sorted(r["Name"] for r in sf.query(soql)["records"])

    assert names("SELECT Name FROM Contact WHERE LastName = 'Ada' OR LastName = 'Cy'") == [
        "Ada",
        "Cy",
    ]
    assert names(
        "SELECT Name FROM Contact WHERE Email != null AND (LastName = 'Ada' OR LastName = 'Dee')"
    ) == ["Ada"]
    assert names("SELECT Name FROM Contact WHERE NOT (Email = null OR LastName = 'Ada')") == [
        "Brook",
        "Cy",
    ]


def test_query_all_pages_through_query_all(sf: Salesforce, people: list[str]) -> None:
    # simple-salesforce's query_all follows nextRecordsUrl; one batch means one call.
    result = sf.query_all("SELECT Id FROM Contact")
    assert result["totalSize"] == 4 and result["done"] is True


def test_malformed_queries(sf: Salesforce) -> None:
    error = error_of(sf, "SELECT Id FROM Contact WHERE")
    assert error == {
        "message": "\nSELECT Id FROM Contact WHERE\n                            ^\n"
        "ERROR at Row:1:Column:29\nunexpected token: '<EOF>'",
        "errorCode": "MALFORMED_QUERY",
    }
    mixed = "SELECT Id FROM Contact WHERE Email = 'x' AND Name = 'z' OR LastName = 'y'"
    error = error_of(sf, mixed)
    assert error["errorCode"] == "MALFORMED_QUERY"  # AND and OR need parentheses to mix
    assert error["message"].endswith("ERROR at Row:1:Column:57\nunexpected token: 'OR'")
    assert error_of(sf, "SELECT FROM Contact")["message"].endswith("unexpected token: 'FROM'")
    assert error_of(sf, "SELECT Id FROM Contact LIMIT -1")["errorCode"] == "MALFORMED_QUERY"
    unterminated = error_of(sf, "SELECT Id FROM Contact WHERE Email = 'x")
    assert unterminated["errorCode"] == "MALFORMED_QUERY"
    bad_escape = error_of(sf, "SELECT Id FROM Contact WHERE Email = 'a\\qb'")
    assert bad_escape["errorCode"] == "MALFORMED_QUERY"
    assert "Illegal character sequence '\\q' in string literal." in bad_escape["message"]
    assert error_of(sf, "SELECT Id, id FROM Contact") == {
        "message": "duplicate field selected: Id",
        "errorCode": "MALFORMED_QUERY",
    }


def test_empty_query(org: SfOrg) -> None:
    response = org.http().get("/query", params={"q": " "})
    assert response.status_code == 400
    assert response.json() == [
        {"message": "SOQL statements cannot be empty or null", "errorCode": "MALFORMED_QUERY"}
    ]
    assert org.http().get("/query").status_code == 400


def test_unknown_object_and_field(sf: Salesforce) -> None:
    error = error_of(sf, "SELECT Id FROM Contacts")
    assert error["errorCode"] == "INVALID_TYPE"
    assert error["message"] == (
        "\nSELECT Id FROM Contacts\n               ^\nERROR at Row:1:Column:16\n"
        "sObject type 'Contacts' is not supported. If you are attempting to use a custom"
        " object, be sure to append the '__c' after the entity name. Please reference your"
        " WSDL or the describe call for the appropriate names."
    )
    error = error_of(sf, "SELECT Id, Emial FROM Contact")
    assert error["errorCode"] == "INVALID_FIELD"
    assert error["message"] == (
        "\nSELECT Id, Emial FROM Contact\n           ^\nERROR at Row:1:Column:12\n"
        "No such column 'Emial' on entity 'Contact'. If you are attempting to use a custom"
        " field, be sure to append the '__c' after the custom field name. Please reference"
        " your WSDL or the describe call for the appropriate names."
    )
    assert error_of(sf, "SELECT Id FROM Contact WHERE Nope = 1")["errorCode"] == "INVALID_FIELD"
    assert error_of(sf, "SELECT Id FROM Contact ORDER BY Nope")["errorCode"] == "INVALID_FIELD"
    assert error_of(sf, "SELECT Account.Name FROM Contact")["errorCode"] == "INVALID_FIELD"


def test_literals_of_the_wrong_type(sf: Salesforce) -> None:
    error = error_of(sf, "SELECT Id FROM Contact WHERE Email = 5")
    assert error["errorCode"] == "INVALID_QUERY_FILTER_OPERATOR"
    assert error["message"].endswith(
        "value of filter criterion for field 'Email' must be of type string and should be"
        " enclosed in quotes"
    )
    error = error_of(sf, "SELECT Id FROM Contact WHERE CreatedDate > '2026-01-01T00:00:00Z'")
    assert error["message"].endswith(
        "value of filter criterion for field 'CreatedDate' must be of type dateTime and should"
        " not be enclosed in quotes"
    )
    error = error_of(sf, "SELECT Id FROM Contact WHERE Id = 'nope'")
    assert error["errorCode"] == "INVALID_QUERY_FILTER_OPERATOR"
    assert error["message"].endswith("invalid ID field: nope")
    described = error_of(sf, "SELECT Id FROM Contact WHERE Description = 'x'")
    assert described["errorCode"] == "INVALID_FIELD"
    assert described["message"].endswith("field 'Description' can not be filtered in a query call")


def test_query_goes_through_auth_faults_and_versions(new_org: Callable[..., SfOrg]) -> None:
    org = new_org(faults={"failNext": ["unavailable"]})
    http = org.http()
    assert http.get("/query", params={"q": "SELECT Id FROM Contact"}).status_code == 503
    ok = http.get("/query", params={"q": "SELECT Id FROM Contact"})
    assert ok.status_code == 200 and ok.headers["Sforce-Limit-Info"].startswith("api-usage=")
    unknown = org.sandbox.admin.get(
        "/services/data/v1.0/query",
        params={"q": "SELECT Id FROM Contact"},
        headers={"Authorization": f"Bearer {org.token}"},
    )
    assert unknown.status_code == 404
    refused = org.http(token="bogus").get("/query", params={"q": "SELECT Id FROM Contact"})
    assert refused.status_code == 401
    assert org.stats()["query"] == 3

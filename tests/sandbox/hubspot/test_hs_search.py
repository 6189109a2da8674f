"""CRM search (`POST /crm/v3/objects/{type}/search`) through hubspot-api-client and raw HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hubspot.crm.contacts import (
    ApiException,
    CollectionResponseWithTotalSimplePublicObjectForwardPaging,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
)
from hubspot.crm.contacts import SimplePublicObjectInputForCreate as ContactCreate

from sandbox.hubspot.hs_support import HsTenant

SEARCH = "/crm/v3/objects/contacts/search"
PEOPLE = [
    ("ada@example.com", "Ada", "Lovelace", "10"),
    ("brook@example.com", "Brook", "Stone", "5"),
    ("cy@other.org", "Cy", "Young", "50"),
    ("dee@example.com", "Dee", None, None),
]


@pytest.fixture
def people(hs: HsTenant) -> list[str]:
    api = hs.client().crm.contacts.basic_api
    ids = []
    for email, first, last, points in PEOPLE:
        props = {"email": email, "firstname": first}
        if last:
            props["lastname"] = last
        if points:
            props["loyalty_points"] = points
        ids.append(api.create(ContactCreate(properties=props)).id)
    return ids


def find(hs: HsTenant, body: dict[str, Any]) -> dict[str, Any]:
    response = hs.http().post(SEARCH, json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def emails(answer: dict[str, Any]) -> list[str]:
    return [r["properties"]["email"] for r in answer["results"]]


def eq(name: str, value: str) -> dict[str, Any]:
    return {"propertyName": name, "operator": "EQ", "value": value}


def test_search_with_the_official_client(hs: HsTenant, people: list[str]) -> None:
    search_api = hs.client().crm.contacts.search_api
    request = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(
                filters=[Filter(property_name="email", operator="EQ", value="ada@example.com")]
            )
        ],
        properties=["email", "firstname"],
        limit=10,
    )
    found = search_api.do_search(public_object_search_request=request)
    assert isinstance(found, CollectionResponseWithTotalSimplePublicObjectForwardPaging)
    assert found.total == 1 and found.paging is None
    (only,) = found.results
    assert only.id == people[0] and only.archived is False
    assert set(only.properties) == {
        "email", "firstname", "hs_object_id", "createdate", "lastmodifieddate"
    }  # fmt: skip
    assert only.properties["firstname"] == "Ada" and only.properties["hs_object_id"] == people[0]
    assert only.created_at is not None and only.updated_at is not None
    assert hs.stats()["objects.search"] == 1


def test_answer_shape_and_default_properties(hs: HsTenant, people: list[str]) -> None:
    answer = find(hs, {})
    assert answer["total"] == 4 and "paging" not in answer
    first = answer["results"][0]
    assert set(first) == {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert first["archived"] is False
    assert set(first["properties"]) == {
        "createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"
    }  # fmt: skip


def test_groups_are_ored_and_filters_anded(hs: HsTenant, people: list[str]) -> None:
    contains = {"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "*@example.com"}
    body = {
        "filterGroups": [
            {"filters": [contains, {"propertyName": "lastname", "operator": "HAS_PROPERTY"}]},
            {"filters": [eq("firstname", "CY")]},  # text compares case-insensitively
        ],
        "properties": ["email"],
    }
    assert emails(find(hs, body)) == ["ada@example.com", "brook@example.com", "cy@other.org"]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"operator": "NEQ", "value": "Ada"}, ["brook", "cy", "dee"]),
        ({"operator": "IN", "values": ["ada", "DEE"]}, ["ada", "dee"]),
        ({"operator": "NOT_IN", "values": ["ada", "dee"]}, ["brook", "cy"]),
        ({"operator": "NOT_HAS_PROPERTY"}, []),
        ({"operator": "CONTAINS_TOKEN", "value": "b*"}, ["brook"]),
        ({"operator": "NOT_CONTAINS_TOKEN", "value": "b*"}, ["ada", "cy", "dee"]),
    ],
)
def test_text_operators(
    hs: HsTenant, people: list[str], flt: dict[str, Any], expected: list[str]
) -> None:
    answer = find(hs, {"filterGroups": [{"filters": [{"propertyName": "firstname", **flt}]}]})
    assert [e.split("@")[0] for e in emails(answer)] == expected


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"operator": "GT", "value": "9"}, ["ada", "cy"]),  # numbers, not text: 50 > 9
        ({"operator": "GTE", "value": "10"}, ["ada", "cy"]),
        ({"operator": "LT", "value": "10"}, ["brook"]),
        ({"operator": "LTE", "value": 10}, ["ada", "brook"]),
        ({"operator": "BETWEEN", "value": "5", "highValue": "10"}, ["ada", "brook"]),
        ({"operator": "EQ", "value": "5.0"}, ["brook"]),
        ({"operator": "NEQ", "value": "5"}, ["ada", "cy", "dee"]),  # no value: also NEQ
        ({"operator": "HAS_PROPERTY"}, ["ada", "brook", "cy"]),
        ({"operator": "NOT_HAS_PROPERTY"}, ["dee"]),
    ],
)
def test_number_operators(
    hs: HsTenant, people: list[str], flt: dict[str, Any], expected: list[str]
) -> None:
    body = {"filterGroups": [{"filters": [{"propertyName": "loyalty_points", **flt}]}]}
    assert [e.split("@")[0] for e in emails(find(hs, body))] == expected


def test_dates_compare_as_instants(hs: HsTenant, people: list[str]) -> None:
    created = find(hs, {"properties": ["createdate"]})["results"]
    third = created[2]["properties"]["createdate"]
    later = {"propertyName": "createdate", "operator": "GTE", "value": third}
    assert len(find(hs, {"filterGroups": [{"filters": [later]}]})["results"]) >= 2
    epoch = {"propertyName": "createdate", "operator": "GT", "value": "0"}
    assert find(hs, {"filterGroups": [{"filters": [epoch]}]})["total"] == 4
    future = {"propertyName": "lastmodifieddate", "operator": "GT", "value": "4102444800000"}
    assert find(hs, {"filterGroups": [{"filters": [future]}]})["total"] == 0


def test_sorts_limit_and_paging(hs: HsTenant, people: list[str]) -> None:
    body: dict[str, Any] = {
        "sorts": [{"propertyName": "loyalty_points", "direction": "DESCENDING"}],
        "properties": ["email"],
        "limit": 2,
    }
    first = find(hs, body)
    assert first["total"] == 4 and emails(first) == ["cy@other.org", "ada@example.com"]
    assert first["paging"] == {"next": {"after": "2"}}
    second = find(hs, {**body, "after": first["paging"]["next"]["after"]})
    assert emails(second) == ["brook@example.com", "dee@example.com"]  # no value: last
    assert "paging" not in second
    by_name = find(hs, {"sorts": ["firstname"], "properties": ["email"]})  # the client's form
    assert emails(by_name)[0] == "ada@example.com"
    by_name_desc = find(hs, {"sorts": ["-firstname"], "properties": ["email"]})
    assert emails(by_name_desc)[0] == "dee@example.com"


def test_paging_through_the_client(hs: HsTenant, people: list[str]) -> None:
    search_api = hs.client().crm.contacts.search_api
    seen: list[str] = []
    after: str | None = None
    while True:
        page = search_api.do_search(
            public_object_search_request=PublicObjectSearchRequest(
                sorts=["email"], limit=3, after=after, properties=["email"]
            )
        )
        seen.extend(r.properties["email"] for r in page.results)
        if page.paging is None:
            break
        after = page.paging.next.after
    assert seen == sorted(p[0] for p in PEOPLE)


def test_archived_records_are_excluded_and_writes_are_visible_at_once(
    hs: HsTenant, people: list[str]
) -> None:
    assert hs.http().delete(f"/crm/v3/objects/contacts/{people[0]}").status_code == 204
    assert "ada@example.com" not in emails(find(hs, {"properties": ["email"]}))
    hs.client().crm.contacts.basic_api.create(ContactCreate(properties={"email": "new@x.io"}))
    assert emails(find(hs, {"filterGroups": [{"filters": [eq("email", "new@x.io")]}]})) == [
        "new@x.io"
    ]


def test_query_is_a_substring_of_the_default_properties(hs: HsTenant, people: list[str]) -> None:
    assert emails(find(hs, {"query": "other.org"})) == ["cy@other.org"]
    assert find(hs, {"query": "STONE"})["total"] == 1


def test_dated_path_and_other_object_types(hs: HsTenant) -> None:
    made = hs.http().post("/crm/v3/objects/companies", json={"properties": {"name": "Acme"}})
    assert made.status_code == 201
    response = hs.http().post(
        "/crm/objects/2026-03/companies/search",
        json={"filterGroups": [{"filters": [eq("name", "acme")]}], "properties": ["name"]},
    )
    assert response.status_code == 200, response.text
    (company,) = response.json()["results"]
    assert set(company["properties"]) == {
        "name",
        "hs_object_id",
        "createdate",
        "hs_lastmodifieddate",
    }


def validation_error(hs: HsTenant, body: Any) -> dict[str, Any]:
    response = hs.http().post(SEARCH, json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["status"] == "error" and error["category"] == "VALIDATION_ERROR"
    assert response.headers["X-HubSpot-Correlation-Id"] == error["correlationId"]
    return dict(error)


def test_limits_and_bad_requests(hs: HsTenant) -> None:
    one = {"filters": [eq("email", "a@b.c")]}
    assert "filter groups" in validation_error(hs, {"filterGroups": [one] * 6})["message"]
    assert (
        "filters in a filter group"
        in validation_error(hs, {"filterGroups": [{"filters": [eq("email", "a@b.c")] * 11}]})[
            "message"
        ]
    )
    ten = {"filters": [eq("email", "a@b.c")] * 10}
    assert "Too many filters: 30" in validation_error(hs, {"filterGroups": [ten] * 3})["message"]
    assert find(hs, {"filterGroups": [ten, ten, {"filters": [eq("email", "a@b.c")] * 5}]})
    assert "limit" in validation_error(hs, {"limit": 201})["message"]
    assert find(hs, {"limit": 200})["total"] == 0
    validation_error(hs, {"limit": 0})
    validation_error(hs, {"after": "10000"})
    missing = validation_error(hs, {"filterGroups": [{"filters": [{"propertyName": "email"}]}]})
    assert "required attributes are not set [operator]" in missing["message"]
    bad_operator = {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "LIKE"}]}]}
    assert "not one of the values accepted" in validation_error(hs, bad_operator)["message"]
    no_value = {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ"}]}]}
    validation_error(hs, no_value)
    no_values = {"filterGroups": [{"filters": [{"propertyName": "email", "operator": "IN"}]}]}
    validation_error(hs, no_values)
    not_a_number = {
        "filterGroups": [
            {"filters": [{"propertyName": "loyalty_points", "operator": "GT", "value": "x"}]}
        ]
    }
    validation_error(hs, not_a_number)
    assert hs.http().post(SEARCH, content=b"{nope").status_code == 400


def test_client_sees_validation_errors(hs: HsTenant) -> None:
    search_api = hs.client().crm.contacts.search_api
    with pytest.raises(ApiException) as caught:
        search_api.do_search(public_object_search_request=PublicObjectSearchRequest(limit=500))
    assert caught.value.status == 400
    assert json.loads(caught.value.body)["category"] == "VALIDATION_ERROR"


def test_search_goes_through_auth_and_faults(new_hs: Any) -> None:
    hs: HsTenant = new_hs(faults={"failNext": ["server_error"]})
    assert hs.http().post(SEARCH, json={}).status_code == 500
    assert hs.http().post(SEARCH, json={}).status_code == 200
    assert hs.http(token="bogus").post(SEARCH, json={}).status_code == 401
    unknown = hs.http().post("/crm/v3/objects/widgets/search", json={})
    assert unknown.status_code == 400
    assert hs.stats()["objects.search"] == 3

"""Describe, versions, resources and limits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

    from sandbox.salesforce.conftest import SfOrg

# Every key of a real Account.Name field describe (providers.md §A7).
REAL_FIELD_KEYS = {
    "aggregatable",
    "aiPredictionField",
    "autoNumber",
    "byteLength",
    "calculated",
    "calculatedFormula",
    "cascadeDelete",
    "caseSensitive",
    "compoundFieldName",
    "controllerName",
    "createable",
    "custom",
    "defaultValue",
    "defaultValueFormula",
    "defaultedOnCreate",
    "dependentPicklist",
    "deprecatedAndHidden",
    "digits",
    "displayLocationInDecimal",
    "encrypted",
    "externalId",
    "extraTypeInfo",
    "filterable",
    "filteredLookupInfo",
    "formulaTreatNullNumberAsZero",
    "groupable",
    "highScaleNumber",
    "htmlFormatted",
    "idLookup",
    "inlineHelpText",
    "label",
    "length",
    "mask",
    "maskType",
    "name",
    "nameField",
    "namePointing",
    "nillable",
    "permissionable",
    "picklistValues",
    "polymorphicForeignKey",
    "precision",
    "queryByDistance",
    "referenceTargetField",
    "referenceTo",
    "relationshipName",
    "relationshipOrder",
    "restrictedDelete",
    "restrictedPicklist",
    "scale",
    "searchPrefilterable",
    "soapType",
    "sortable",
    "type",
    "unique",
    "updateable",
    "writeRequiresMasterRead",
}


def fields_of(describe: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in describe["fields"]}


def required(describe: dict[str, Any]) -> set[str]:
    return {
        f["name"]
        for f in describe["fields"]
        if f["createable"] and not f["nillable"] and not f["defaultedOnCreate"]
    }


def test_global_describe(sf: Salesforce) -> None:
    described = sf.describe()
    assert described["encoding"] == "UTF-8" and described["maxBatchSize"] == 200
    by_name = {o["name"]: o for o in described["sobjects"]}
    assert set(by_name) == {"Account", "Contact", "Lead", "Opportunity", "touchpoints__c"}
    assert {n: o["keyPrefix"] for n, o in by_name.items()} == {
        "Account": "001",
        "Contact": "003",
        "Lead": "00Q",
        "Opportunity": "006",
        "touchpoints__c": "a05",
    }
    assert by_name["touchpoints__c"]["custom"] is True and by_name["Account"]["custom"] is False
    assert by_name["Account"]["urls"]["sobject"] == "/services/data/v62.0/sobjects/Account"


def test_basic_info(sf: Salesforce) -> None:
    info = sf.contact.metadata()
    assert info["objectDescribe"]["name"] == "Contact"
    assert info["objectDescribe"]["labelPlural"] == "Contacts"
    assert info["recentItems"] == []


def test_full_describe_fields_and_required_semantics(sf: Salesforce) -> None:
    account = sf.Account.describe()
    assert account["name"] == "Account" and account["keyPrefix"] == "001"
    fields = fields_of(account)
    assert set(fields["Name"]) == REAL_FIELD_KEYS
    assert fields["Name"]["type"] == "string" and fields["Name"]["length"] == 255
    assert fields["Name"]["byteLength"] == 765 and fields["Name"]["soapType"] == "xsd:string"
    assert fields["Id"]["type"] == "id" and not fields["Id"]["createable"]
    for system in ("CreatedDate", "CreatedById", "LastModifiedDate", "SystemModstamp"):
        assert not fields[system]["createable"] and not fields[system]["updateable"]
    assert fields["CreatedById"]["referenceTo"] == ["User"]
    assert fields["CreatedById"]["relationshipName"] == "CreatedBy"
    assert fields["Industry"]["restrictedPicklist"] is True
    assert {"active", "defaultValue", "label", "validFor", "value"} == set(
        fields["Industry"]["picklistValues"][0]
    )
    assert fields["External_Id__c"]["externalId"] and fields["External_Id__c"]["custom"]
    assert fields["BillingAddress"]["type"] == "address"
    assert required(account) == {"Name"}
    assert required(sf.Contact.describe()) == {"LastName"}
    assert required(sf.Lead.describe()) == {"LastName", "Company"}
    assert required(sf.Opportunity.describe()) == {"Name", "StageName", "CloseDate"}
    children = {c["relationshipName"]: c for c in account["childRelationships"]}
    assert children["Contacts"]["childSObject"] == "Contact"
    assert children["Contacts"]["field"] == "AccountId"


def test_contact_name_is_compound_and_read_only(sf: Salesforce) -> None:
    fields = fields_of(sf.Contact.describe())
    assert not fields["Name"]["createable"] and not fields["Name"]["updateable"]
    assert fields["FirstName"]["createable"] and fields["LastName"]["createable"]
    assert fields["LastName"]["compoundFieldName"] == "Name"
    assert fields["Email"]["type"] == "email" and fields["Birthdate"]["type"] == "date"


def test_custom_object_describe(sf: Salesforce) -> None:
    touch = sf.touchpoints__c.describe()
    assert touch["custom"] is True and touch["label"] == "Touchpoint"
    fields = fields_of(touch)
    assert fields["Channel__c"]["type"] == "picklist" and fields["Channel__c"]["restrictedPicklist"]
    assert fields["Contact__c"]["referenceTo"] == ["Contact"]
    assert fields["Contact__c"]["relationshipName"] == "Contact__r"
    assert fields["Occurred_At__c"]["type"] == "datetime"
    assert fields["Score__c"]["type"] == "double" and fields["Score__c"]["scale"] == 2
    assert fields["External_Id__c"]["externalId"] and fields["External_Id__c"]["unique"]
    assert required(touch) == set()


def test_versions_and_resources(org: SfOrg, sf: Salesforce) -> None:
    versions = httpx.get(f"{org.sandbox.url}/services/data/").json()  # public, no token
    by_version = {v["version"]: v for v in versions}
    assert by_version["59.0"] == {
        "label": "Winter '24",
        "url": "/services/data/v59.0",
        "version": "59.0",
    }
    assert by_version["62.0"]["label"] == "Winter '25"
    assert by_version["31.0"]["label"] == "Summer '14"
    resources = sf.restful("")
    assert resources["sobjects"] == "/services/data/v62.0/sobjects"
    assert resources["limits"] == "/services/data/v62.0/limits"
    assert resources["identity"] == org.tenant["idUrl"]


def test_limits_and_usage_header(org: SfOrg) -> None:
    sf = org.client()
    account = sf.Account
    account.create({"Name": "Usage"})
    used = account.api_usage["api-usage"]
    assert (used.used, used.total) == (1, 5_000_000)
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 5_000_000, "Remaining": 5_000_000 - 2}
    assert sf.api_usage["api-usage"].used == 2
    counted = sf.restful("limits/recordCount", params={"sObjects": "Account,contact"})
    assert counted == {
        "sObjects": [{"count": 1, "name": "Account"}, {"count": 0, "name": "Contact"}]
    }


def test_api_versions_setting_limits_what_is_served(new_org: Any) -> None:
    org = new_org(settings={"apiVersions": ["58.0", "59.0"]})
    http = org.http()
    assert http.get(f"{org.sandbox.url}/services/data/v59.0/sobjects").status_code == 200
    gone = http.get(f"{org.sandbox.url}/services/data/v62.0/sobjects")
    assert gone.status_code == 404 and gone.json()[0]["errorCode"] == "NOT_FOUND"
    listed = http.get(f"{org.sandbox.url}/services/data/").json()
    assert [v["version"] for v in listed] == ["58.0", "59.0"]

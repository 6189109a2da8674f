"""Record planning: defaults, write policies, mapping — including ampersand.md §3.4's example."""

from __future__ import annotations

from typing import Any

from writeback.control.config_content import WriteConfigObject
from writeback.writes.mapping import build_mapping, parse_path, resolve_write_object
from writeback.writes.planning import plan_record

# amp.yaml of the worked example, as stored in a revision
REVISION: dict[str, Any] = {
    "name": "hs",
    "provider": "hubspot",
    "read": {
        "objects": [
            {
                "objectName": "contacts",
                "destination": "wh",
                "schedule": "*/30 * * * *",
                "mapToName": "people",
                "requiredFields": [
                    {"fieldName": "mobilephone", "mapToName": "phone"},
                    {"fieldName": "$['userInfo']['email']", "mapToName": "contactEmail"},
                ],
                "optionalFields": [
                    {"mapToName": "notes", "mapToDisplayName": "Notes", "prompt": "Where?"},
                    {"mapToName": "pronoun"},
                ],
            }
        ]
    },
    "write": {"objects": [{"objectName": "contacts", "inheritMapping": True}]},
}
CONFIG = {
    "provider": "hubspot",
    "read": {
        "objects": {
            "contacts": {
                "objectName": "contacts",
                "selectedFields": {},
                "selectedFieldMappings": {"notes": "hs_custom_notes_a"},
            }
        }
    },
}


def test_worked_example_of_section_3_4() -> None:
    mapping = build_mapping(REVISION, CONFIG, "contacts")
    record = {
        "id": "901",
        "phone": "+1 555",
        "contactEmail": "a@b.c",
        "notes": "VIP",
        "pronoun": "she",
        "firstname": "Ada",
    }
    planned = plan_record(record, "update", None, mapping)
    assert planned.record_id == "901"
    assert planned.fields == {
        "mobilephone": "+1 555",
        "userInfo": {"email": "a@b.c"},
        "hs_custom_notes_a": "VIP",
        "firstname": "Ada",
    }
    assert record["phone"] == "+1 555" and "id" in record  # the input is not changed


def test_customer_mapping_wins_and_nested_sources() -> None:
    config = {
        "read": {
            "objects": {
                "contacts": {
                    "objectName": "contacts",
                    "selectedFieldMappings": {
                        "phone": "phone",  # overrides the static mobilephone mapping
                        "$['more']['status']": "hs_lead_status",
                        "pronoun": "pronouns__c",
                    },
                }
            }
        }
    }
    mapping = build_mapping(REVISION, config, "contacts")
    fields = mapping.apply({"phone": "1", "more": {"status": "NEW", "keep": 1}, "pronoun": "he"})
    assert fields == {
        "phone": "1",
        "hs_lead_status": "NEW",
        "more": {"keep": 1},
        "pronouns__c": "he",
    }
    emptied = mapping.apply({"more": {"status": "NEW"}})
    assert emptied == {"hs_lead_status": "NEW"}  # no empty {"more": {}} left behind


def test_value_mappings_apply_after_renaming() -> None:
    config = {
        "read": {
            "objects": {
                "contacts": {
                    "objectName": "contacts",
                    "selectedValueMappings": {"lifecyclestage": {"hot": "salesqualifiedlead"}},
                }
            }
        }
    }
    mapping = build_mapping(REVISION, config, "contacts")
    assert mapping.apply({"lifecyclestage": "hot"}) == {"lifecyclestage": "salesqualifiedlead"}
    assert mapping.apply({"lifecyclestage": "cold"}) == {"lifecyclestage": "cold"}


def settings(**fields: Any) -> WriteConfigObject:
    return WriteConfigObject.model_validate(
        {"objectName": "contacts", "selectedFieldSettings": fields}
    )


def test_defaults_are_typed_and_only_fill_missing_fields() -> None:
    config = settings(
        source={"default": {"stringValue": "myApp"}},
        amount={"default": {"integerValue": 0}},
        automated={"default": {"booleanValue": True}},
    )
    planned = plan_record({"amount": 5}, "create", config, None)
    assert planned.fields == {"amount": 5, "source": "myApp", "automated": True}


def test_write_on_create_and_update_policies() -> None:
    config = settings(
        source={
            "default": {"stringValue": "myApp"},
            "writeOnCreate": "always",
            "writeOnUpdate": "never",
        },
        secret={"writeOnCreate": "never"},
        notes={"writeOnUpdate": "ifEmpty"},
    )
    created = plan_record({"secret": "x", "notes": "n"}, "create", config, None)
    assert created.fields == {"notes": "n", "source": "myApp"}
    assert created.if_empty == set()
    updated = plan_record(
        {"id": "1", "secret": "x", "notes": "n", "source": "s"}, "update", config, None
    )
    assert updated.fields == {"secret": "x", "notes": "n"}
    assert updated.if_empty == {"notes"}


def test_settings_are_keyed_by_request_names_before_mapping() -> None:
    mapping = build_mapping(REVISION, CONFIG, "contacts")
    config = settings(phone={"writeOnUpdate": "ifEmpty"}, notes={"default": {"stringValue": "-"}})
    planned = plan_record({"Id": "7", "phone": "123"}, "update", config, mapping)
    assert planned.record_id == "7"
    assert planned.fields == {"mobilephone": "123", "hs_custom_notes_a": "-"}
    assert planned.if_empty == {"mobilephone"}


def test_legacy_value_defaults() -> None:
    config = WriteConfigObject.model_validate(
        {
            "objectName": "contacts",
            "selectedValueDefaults": {
                "a": {"value": "create-only", "applyOnUpdate": "never"},
                "b": {"value": 3},
            },
        }
    )
    assert plan_record({}, "create", config, None).fields == {"a": "create-only", "b": 3}
    assert plan_record({"id": "1"}, "update", config, None).fields == {"b": 3}


def test_object_resolution_by_name_or_mapped_name() -> None:
    found, names = resolve_write_object(REVISION, "contacts")
    assert found is not None and found["objectName"] == "contacts"
    alias, _ = resolve_write_object(REVISION, "people")
    assert alias is not None and alias["objectName"] == "contacts"
    missing, names = resolve_write_object(REVISION, "deals")
    assert missing is None and names == ["contacts", "people"]


def test_parse_path() -> None:
    assert parse_path("$['a']['b c']") == ("a", "b c")
    assert parse_path("plain") == ("plain",)

"""Validation rules of amp.yaml: each rule with a failing and a passing case.

Most cases put their YAML under a fixed four-line header, so the body starts on line 5:

    1 specVersion: 1.0.0
    2 integrations:
    3   - name: demo
    4     provider: salesforce
"""

from __future__ import annotations

import textwrap

import pytest

from writeback import catalog
from writeback.manifest import ManifestResult, parse_manifest

I0 = "integrations[0]"  # prefix of most expected paths


def manifest(body: str, provider: str = "salesforce", name: str = "demo") -> ManifestResult:
    lines = [
        "specVersion: 1.0.0",
        "integrations:",
        f"  - name: {name}",
        f"    provider: {provider}",
    ]
    lines += [f"    {line}" if line else "" for line in textwrap.dedent(body).splitlines()]
    return parse_manifest("\n".join(lines) + "\n")


def errors(result: ManifestResult) -> list[str]:
    return [str(issue) for issue in result.errors]


def warnings(result: ManifestResult) -> list[str]:
    return [str(issue) for issue in result.warnings]


def assert_clean(result: ManifestResult) -> None:
    assert errors(result) == []
    assert warnings(result) == []
    assert result.manifest is not None


WRITE_CONTACT = """\
write:
  objects:
    - objectName: contact
"""


def read_object(extra: str = "", schedule: str = "*/30 * * * *") -> str:
    """A read section with one valid object; `extra` lines are added to the object (line 9+)."""
    body = f"""\
read:
  objects:
    - objectName: account
      destination: wh
      schedule: "{schedule}"
"""
    return body + textwrap.indent(textwrap.dedent(extra), "      ")


# --- top level ----------------------------------------------------------------------------


def test_spec_version_must_be_1_0_0() -> None:
    result = parse_manifest('specVersion: "1.1.0"\nintegrations: []\n')
    assert errors(result) == [
        'amp.yaml:1 specVersion: unsupported spec version "1.1.0"; must be "1.0.0"',
        "amp.yaml:2 integrations: must be a non-empty list",
    ]


def test_spec_version_and_integrations_are_required() -> None:
    assert errors(parse_manifest("integrations:\n  - {}\n")) == [
        'amp.yaml:1: missing required key "specVersion"',
        'amp.yaml:2 integrations[0]: missing required key "name"',
        'amp.yaml:2 integrations[0]: missing required key "provider"',
        "amp.yaml:2 integrations[0]: integration must define at least one of "
        "read, write, subscribe, proxy",
    ]
    assert errors(parse_manifest("specVersion: 1.0.0\n")) == [
        'amp.yaml:1: missing required key "integrations"'
    ]


def test_integrations_must_be_a_list() -> None:
    result = parse_manifest("specVersion: 1.0.0\nintegrations:\n  name: demo\n")
    assert errors(result) == ["amp.yaml:2 integrations: expected a list, got a mapping"]


def test_minimal_valid_manifest() -> None:
    assert_clean(manifest(WRITE_CONTACT))


# --- integration name, displayName, duplicates --------------------------------------------


@pytest.mark.parametrize("name", ["demo", "write-to-salesforce", "a_b-1", "x" * 64])
def test_valid_integration_names(name: str) -> None:
    assert_clean(manifest(WRITE_CONTACT, name=name))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Demo", 'must contain only lowercase letters, digits, "-" and "_"'),
        ("write to sf", 'must contain only lowercase letters, digits, "-" and "_"'),
        ("ünïcode", 'must contain only lowercase letters, digits, "-" and "_"'),
        ("x" * 65, "must be at most 64 characters, got 65"),
        ('""', "must not be empty"),
    ],
)
def test_invalid_integration_names(name: str, message: str) -> None:
    assert errors(manifest(WRITE_CONTACT, name=name)) == [f"amp.yaml:3 {I0}.name: {message}"]


def test_display_name_at_most_100_characters() -> None:
    assert_clean(manifest(f"displayName: {'d' * 100}\n" + WRITE_CONTACT))
    assert errors(manifest(f"displayName: {'d' * 101}\n" + WRITE_CONTACT)) == [
        f"amp.yaml:5 {I0}.displayName: must be at most 100 characters, got 101"
    ]


def test_duplicate_integration_names() -> None:
    text = """\
specVersion: 1.0.0
integrations:
  - name: same
    provider: salesforce
    write: {objects: [{objectName: account}]}
  - name: same
    provider: hubspot
    write: {objects: [{objectName: contacts}]}
"""
    assert errors(parse_manifest(text)) == [
        'amp.yaml:6 integrations[1].name: duplicate integration name "same"'
    ]


# --- provider, module, actions --------------------------------------------------------------


def test_provider_is_required() -> None:
    text = "specVersion: 1.0.0\nintegrations:\n  - name: demo\n    write: {objects: []}\n"
    assert errors(parse_manifest(text)) == [
        f'amp.yaml:3 {I0}: missing required key "provider"',
        f"amp.yaml:4 {I0}.write.objects: must be a non-empty list",
    ]


def test_unknown_provider_lists_known_ones() -> None:
    assert errors(manifest(WRITE_CONTACT, provider="pipedrive")) == [
        f'amp.yaml:4 {I0}.provider: unknown provider "pipedrive"; '
        "known providers: hubspot, salesforce"
    ]


def test_provider_in_wrong_case_gets_a_suggestion() -> None:
    assert errors(manifest(WRITE_CONTACT, provider="Salesforce")) == [
        f'amp.yaml:4 {I0}.provider: unknown provider "Salesforce"; did you mean "salesforce"?'
    ]


def test_module_must_exist_for_the_provider() -> None:
    assert_clean(manifest("module: crm\n" + WRITE_CONTACT))
    assert errors(manifest("module: marketing\n" + WRITE_CONTACT)) == [
        f'amp.yaml:5 {I0}.module: provider "salesforce" has no module "marketing"; '
        "known modules: crm"
    ]


def test_at_least_one_action() -> None:
    assert errors(manifest("displayName: Nothing\n")) == [
        f"amp.yaml:3 {I0}: integration must define at least one of read, write, subscribe, proxy"
    ]
    assert_clean(manifest("proxy:\n  enabled: true\n"))


def test_provider_must_support_each_action(monkeypatch: pytest.MonkeyPatch) -> None:
    real = catalog.supports

    def no_subscribe(name: str, action: str, module: str | None = None) -> bool:
        return action != "subscribe" and real(name, action, module)

    monkeypatch.setattr(catalog, "supports", no_subscribe)
    body = (
        read_object()
        + """\
subscribe:
  objects:
    - objectName: account
      destination: wh
      inheritFieldsAndMapping: true
      createEvent: {enabled: always}
"""
    )
    assert errors(manifest(body, provider="hubspot")) == [
        f'amp.yaml:10 {I0}.subscribe: provider "hubspot" does not support subscribe actions'
    ]
    assert errors(manifest("module: crm\n" + body, provider="hubspot")) == [
        f'amp.yaml:11 {I0}.subscribe: module "crm" of provider "hubspot" does not support '
        "subscribe actions"
    ]


def test_supported_actions_pass_with_module() -> None:
    body = "module: crm\nproxy: {enabled: true, useModule: true}\n" + WRITE_CONTACT
    assert_clean(manifest(body, provider="hubspot"))


# --- write -----------------------------------------------------------------------------------


def test_write_objects_must_be_a_non_empty_list() -> None:
    assert errors(manifest("write:\n  objects: []\n")) == [
        f"amp.yaml:6 {I0}.write.objects: must be a non-empty list"
    ]
    assert errors(manifest("write: {}\n")) == [
        f'amp.yaml:5 {I0}.write: missing required key "objects"'
    ]
    assert errors(manifest("write:\n  objects: contact\n")) == [
        f"amp.yaml:6 {I0}.write.objects: expected a list, got a string"
    ]


def test_write_object_needs_an_object_name() -> None:
    result = manifest("write:\n  objects:\n    - inheritMapping: true\n")
    assert errors(result) == [
        f'amp.yaml:7 {I0}.write.objects[0]: missing required key "objectName"'
    ]
    result = manifest("write:\n  objects:\n    - contact\n")
    assert errors(result) == [
        f"amp.yaml:7 {I0}.write.objects[0]: expected a mapping, got a string "
        "(each write object is a mapping such as {objectName: contact})"
    ]


def test_duplicate_write_object_points_at_the_second_object_name() -> None:
    body = """\
write:
  objects:
    - objectName: contact
    - objectName: account
    - inheritMapping: false
      objectName: contact
"""
    assert errors(manifest(body)) == [
        f'amp.yaml:10 {I0}.write.objects[2].objectName: duplicate object "contact"'
    ]


def test_object_names_are_case_sensitive_for_duplicates() -> None:
    body = "write:\n  objects:\n    - objectName: contact\n    - objectName: Contact\n"
    assert_clean(manifest(body))


def test_same_object_may_be_read_and_written() -> None:
    body = read_object() + "write:\n  objects:\n    - objectName: account\n"
    assert_clean(manifest(body))


def test_write_object_types() -> None:
    body = """\
write:
  objects:
    - objectName: contact
      inheritMapping: "true"
      valueDefaults:
        allowAnyFields: 1
"""
    assert errors(manifest(body)) == [
        f"amp.yaml:8 {I0}.write.objects[0].inheritMapping: expected a boolean (true or false), "
        'got a string "true"',
        f"amp.yaml:10 {I0}.write.objects[0].valueDefaults.allowAnyFields: expected a boolean "
        "(true or false), got a number",
    ]


def test_inherit_mapping_without_a_read_object_is_a_warning() -> None:
    body = "write:\n  objects:\n    - objectName: contact\n      inheritMapping: true\n"
    result = manifest(body)
    assert errors(result) == []
    assert warnings(result) == [
        f"amp.yaml:8 {I0}.write.objects[0].inheritMapping: inheritMapping is true but no read "
        'object "contact" defines mappings to inherit'
    ]
    assert result.manifest is not None


def test_inherit_mapping_finds_read_object_by_name_or_map_to_name() -> None:
    by_name = (
        read_object() + "write:\n  objects:\n    - {objectName: account, inheritMapping: true}\n"
    )
    assert_clean(manifest(by_name))
    by_mapping = (
        read_object("mapToName: company\n")
        + "write:\n  objects:\n    - {objectName: company, inheritMapping: true}\n"
    )
    assert_clean(manifest(by_mapping))


# --- read objects ----------------------------------------------------------------------------


def test_read_object_required_keys() -> None:
    body = "read:\n  objects:\n    - objectName: account\n"
    assert errors(manifest(body)) == [
        f'amp.yaml:7 {I0}.read.objects[0]: missing required key "destination"',
        f'amp.yaml:7 {I0}.read.objects[0]: missing required key "schedule"',
    ]
    assert errors(manifest("read:\n  objects: []\n")) == [
        f"amp.yaml:6 {I0}.read.objects: must be a non-empty list"
    ]


def test_duplicate_read_objects() -> None:
    body = (
        read_object()
        + '    - objectName: account\n      destination: wh\n      schedule: "0 * * * *"\n'
    )
    assert errors(manifest(body)) == [
        f'amp.yaml:10 {I0}.read.objects[1].objectName: duplicate object "account"'
    ]


def test_unknown_destination_is_fine() -> None:
    assert_clean(manifest(read_object().replace("destination: wh", "destination: nowhere-yet")))


@pytest.mark.parametrize(
    "schedule",
    ["*/10 * * * *", "*/30 * * * *", "0 */2 * * *", "0 9 * * 1-5", "15,45 * * * *", "0 0 1 JAN *"],
)
def test_valid_schedules(schedule: str) -> None:
    assert_clean(manifest(read_object(schedule=schedule)))


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (
            "*/5 * * * *",
            'schedule "*/5 * * * *" is too frequent: runs 5 minutes apart; '
            "the minimum interval is 10 minutes",
        ),
        (
            "0,5 * * * *",
            'schedule "0,5 * * * *" is too frequent: runs 5 minutes apart; '
            "the minimum interval is 10 minutes",
        ),
        (
            "2,58 0,23 * * *",  # 23:58 today, then 00:02 tomorrow
            'schedule "2,58 0,23 * * *" is too frequent: runs 4 minutes apart; '
            "the minimum interval is 10 minutes",
        ),
        (
            "* * * * *",
            'schedule "* * * * *" runs every minute; the minute field cannot be "*" '
            '(use e.g. "*/10 * * * *")',
        ),
        (
            "* 3 * * *",
            'schedule "* 3 * * *" runs every minute; the minute field cannot be "*" '
            '(use e.g. "*/10 * * * *")',
        ),
        (
            "*/30 * * *",
            'invalid cron schedule "*/30 * * *": must have 5 fields '
            "(minute hour day-of-month month day-of-week), got 4",
        ),
        (
            "every hour",
            'invalid cron schedule "every hour": must have 5 fields '
            "(minute hour day-of-month month day-of-week), got 2",
        ),
        ("61 * * * *", 'invalid cron schedule "61 * * * *": minute field: 61 is outside 0-59'),
        ("0 0 31 2 *", 'schedule "0 0 31 2 *" never runs'),
    ],
)
def test_invalid_schedules(schedule: str, message: str) -> None:
    assert errors(manifest(read_object(schedule=schedule))) == [
        f"amp.yaml:9 {I0}.read.objects[0].schedule: {message}"
    ]


def test_backfill_exactly_one_period() -> None:
    for period in ("days: 30", "days: 0", "fullHistory: true"):
        assert_clean(manifest(read_object(f"backfill:\n  defaultPeriod:\n    {period}\n")))
    both = read_object("backfill:\n  defaultPeriod:\n    days: 30\n    fullHistory: true\n")
    assert errors(manifest(both)) == [
        f'amp.yaml:11 {I0}.read.objects[0].backfill.defaultPeriod: set only one of "days" or '
        '"fullHistory"'
    ]
    neither = read_object("backfill:\n  defaultPeriod: {}\n")
    assert errors(manifest(neither)) == [
        f'amp.yaml:11 {I0}.read.objects[0].backfill.defaultPeriod: set one of "days" '
        '(0 for no backfill) or "fullHistory: true"'
    ]
    negative = read_object("backfill:\n  defaultPeriod:\n    days: -1\n")
    assert errors(manifest(negative)) == [
        f"amp.yaml:12 {I0}.read.objects[0].backfill.defaultPeriod.days: must be at least 0, got -1"
    ]
    false = read_object("backfill:\n  defaultPeriod:\n    fullHistory: false\n")
    assert errors(manifest(false)) == [
        f"amp.yaml:12 {I0}.read.objects[0].backfill.defaultPeriod.fullHistory: fullHistory: false "
        'selects no period; use "days" (0 for no backfill) instead'
    ]
    missing = read_object("backfill: {}\n")
    assert errors(manifest(missing)) == [
        f'amp.yaml:10 {I0}.read.objects[0].backfill: missing required key "defaultPeriod"'
    ]


def test_delivery_mode_and_page_size() -> None:
    for delivery in (
        "{mode: auto}",
        "{}",
        "{mode: onRequest, pageSize: 50}",
        "{mode: onRequest, pageSize: 500}",
    ):
        assert_clean(manifest(read_object(f"delivery: {delivery}\n")))
    cases = {
        "{mode: stream}": f"amp.yaml:10 {I0}.read.objects[0].delivery.mode: "
        'expected one of "auto", "onRequest", got "stream"',
        "{mode: auto, pageSize: 100}": f"amp.yaml:10 {I0}.read.objects[0].delivery.pageSize: "
        'pageSize is only allowed with mode "onRequest"',
        "{pageSize: 100}": f"amp.yaml:10 {I0}.read.objects[0].delivery.pageSize: "
        'pageSize is only allowed with mode "onRequest"',
        "{mode: onRequest}": f'amp.yaml:10 {I0}.read.objects[0].delivery: mode "onRequest" '
        "requires pageSize (50-500)",
        "{mode: onRequest, pageSize: 49}": f"amp.yaml:10 {I0}.read.objects[0].delivery.pageSize: "
        "must be at least 50, got 49",
        "{mode: onRequest, pageSize: 501}": f"amp.yaml:10 {I0}.read.objects[0].delivery.pageSize: "
        "must be at most 500, got 501",
    }
    for delivery, message in cases.items():
        assert errors(manifest(read_object(f"delivery: {delivery}\n"))) == [message], delivery


# --- fields and mappings ---------------------------------------------------------------------


def test_field_entries_are_provider_fields_or_user_mappings() -> None:
    extra = """\
requiredFields:
  - fieldName: id
  - fieldName: mobilephone
    mapToName: phone
    mapToDisplayName: Phone
optionalFields:
  - mapToName: notes
  - mapToName: pronoun
    mapToDisplayName: Pronoun
    prompt: Which field holds the pronoun?
    default: pronoun__c
"""
    assert_clean(manifest(read_object(extra)))


def test_field_entry_needs_field_name_or_map_to_name() -> None:
    extra = "requiredFields:\n  - mapToDisplayName: Phone\n"
    assert errors(manifest(read_object(extra))) == [
        f'amp.yaml:11 {I0}.read.objects[0].requiredFields[0]: a field entry needs "fieldName" '
        '(a provider field) or "mapToName" (a mapping the customer chooses)'
    ]


def test_prompt_on_a_provider_field_is_a_warning() -> None:
    extra = "optionalFields:\n  - fieldName: phone\n    prompt: Pick one\n"
    result = manifest(read_object(extra))
    assert errors(result) == []
    assert warnings(result) == [
        f'amp.yaml:12 {I0}.read.objects[0].optionalFields[0].prompt: "prompt" is only used by '
        "user-defined mappings (entries without fieldName)"
    ]


def test_duplicate_map_to_name_across_required_and_optional() -> None:
    extra = """\
requiredFields:
  - fieldName: mobilephone
    mapToName: phone
optionalFields:
  - fieldName: fax
    mapToName: fax
  - mapToName: phone
"""
    assert errors(manifest(read_object(extra))) == [
        f'amp.yaml:16 {I0}.read.objects[0].optionalFields[1].mapToName: duplicate mapToName "phone"'
    ]


def test_same_map_to_name_in_different_objects_is_fine() -> None:
    body = read_object("requiredFields:\n  - {fieldName: a, mapToName: x}\n")
    body += '    - objectName: contact\n      destination: wh\n      schedule: "0 * * * *"\n'
    body += "      requiredFields:\n        - {fieldName: b, mapToName: x}\n"
    assert_clean(manifest(body))


def test_nested_field_paths_use_bracket_notation() -> None:
    good = "requiredFields:\n  - fieldName: $['address']['city']\n    mapToName: $['loc']['city']\n"
    assert_clean(manifest(read_object(good)))
    bad = 'requiredFields:\n  - fieldName: "$.address.city"\n'
    assert errors(manifest(read_object(bad))) == [
        f"amp.yaml:11 {I0}.read.objects[0].requiredFields[0].fieldName: nested field paths use "
        "bracket notation, e.g. $['address']['city'], got '$.address.city'"
    ]


def test_fields_must_be_a_list_of_mappings() -> None:
    extra = "requiredFields: id\noptionalFields:\n  - website\n"
    assert errors(manifest(read_object(extra))) == [
        f"amp.yaml:10 {I0}.read.objects[0].requiredFields: expected a list, got a string",
        f"amp.yaml:12 {I0}.read.objects[0].optionalFields[0]: expected a mapping, got a string",
    ]


# --- enabled: always ---------------------------------------------------------------------------


def test_enabled_always_with_required_provider_fields() -> None:
    extra = """\
enabled: always
requiredFields:
  - fieldName: id
  - {fieldName: name, mapToName: title}
"""
    assert_clean(manifest(read_object(extra)))


def test_enabled_always_needs_required_fields() -> None:
    assert errors(manifest(read_object("enabled: always\n"))) == [
        f'amp.yaml:10 {I0}.read.objects[0].enabled: objects with "enabled: always" need '
        "requiredFields"
    ]
    assert errors(manifest(read_object("enabled: always\nrequiredFields: []\n"))) == [
        f'amp.yaml:10 {I0}.read.objects[0].enabled: objects with "enabled: always" need '
        "requiredFields"
    ]


def test_enabled_always_rejects_user_mappings_in_required_fields() -> None:
    extra = "enabled: always\nrequiredFields:\n  - fieldName: id\n  - mapToName: notes\n"
    assert errors(manifest(read_object(extra))) == [
        f"amp.yaml:13 {I0}.read.objects[0].requiredFields[1]: a user-defined mapping (mapToName "
        'without fieldName) cannot be a required field of an object with "enabled: always"'
    ]


def test_enabled_only_accepts_always() -> None:
    assert errors(manifest(read_object("enabled: sometimes\n"))) == [
        f'amp.yaml:10 {I0}.read.objects[0].enabled: expected one of "always", got "sometimes"'
    ]


# --- subscribe -------------------------------------------------------------------------------


def subscribe_object(name: str = "account", extra: str = "") -> str:
    lines = f"""\
- objectName: {name}
  destination: wh
  inheritFieldsAndMapping: true
  updateEvent:
    enabled: always
    watchFieldsAuto: all
"""
    return textwrap.indent(lines + textwrap.dedent(extra), "    ")


def subscribe(*objects: str) -> str:
    return "subscribe:\n  objects:\n" + "".join(objects)


def test_valid_subscribe() -> None:
    assert_clean(manifest(read_object() + subscribe(subscribe_object())))


def test_subscribe_requires_read() -> None:
    assert errors(manifest(subscribe(subscribe_object()))) == [
        f"amp.yaml:5 {I0}.subscribe: subscribe requires a read section in the same integration"
    ]


def test_subscribe_object_without_a_read_object_is_a_warning() -> None:
    result = manifest(read_object() + subscribe(subscribe_object("contact")))
    assert errors(result) == []
    assert warnings(result) == [
        f'amp.yaml:12 {I0}.subscribe.objects[0].objectName: no read object "contact" to inherit '
        "fields and mapping from"
    ]


def test_subscribe_object_required_keys() -> None:
    body = read_object() + "subscribe:\n  objects:\n    - createEvent: {enabled: always}\n"
    assert errors(manifest(body)) == [
        f'amp.yaml:12 {I0}.subscribe.objects[0]: missing required key "objectName"',
        f'amp.yaml:12 {I0}.subscribe.objects[0]: missing required key "destination"',
        f"amp.yaml:12 {I0}.subscribe.objects[0]: inheritFieldsAndMapping must be true: in spec "
        "version 1.0.0 subscribe objects take their fields and mapping from the read object",
    ]


def test_subscribe_object_must_inherit_fields_and_mapping() -> None:
    obj = subscribe_object().replace(
        "inheritFieldsAndMapping: true", "inheritFieldsAndMapping: false"
    )
    assert errors(manifest(read_object() + subscribe(obj))) == [
        f"amp.yaml:14 {I0}.subscribe.objects[0].inheritFieldsAndMapping: inheritFieldsAndMapping "
        "must be true: in spec version 1.0.0 subscribe objects take their fields and mapping "
        "from the read object"
    ]


def test_subscribe_object_needs_an_event() -> None:
    obj = "    - objectName: account\n      destination: wh\n      inheritFieldsAndMapping: true\n"
    assert errors(manifest(read_object() + subscribe(obj))) == [
        f"amp.yaml:12 {I0}.subscribe.objects[0]: subscribe object enables no events; add one of "
        "createEvent, updateEvent, deleteEvent, associationChangeEvent"
    ]


def test_update_event_needs_exactly_one_watch_setting() -> None:
    body = read_object() + subscribe(
        """\
    - objectName: account
      destination: wh
      inheritFieldsAndMapping: true
      updateEvent:
        watchFieldsAuto: all
        requiredWatchFields: [name]
"""
    )
    assert errors(manifest(body)) == [
        f'amp.yaml:15 {I0}.subscribe.objects[0].updateEvent: set only one of "watchFieldsAuto" '
        'or "requiredWatchFields"'
    ]
    neither = body.replace("        watchFieldsAuto: all\n", "").replace(
        "requiredWatchFields: [name]", "enabled: always"
    )
    assert errors(manifest(neither)) == [
        f'amp.yaml:15 {I0}.subscribe.objects[0].updateEvent: set one of "watchFieldsAuto" or '
        '"requiredWatchFields"'
    ]
    fields_only = body.replace("        watchFieldsAuto: all\n", "")
    assert_clean(manifest(fields_only))


def test_watch_fields_cannot_be_nested() -> None:
    body = read_object() + subscribe(
        """\
    - objectName: account
      destination: wh
      inheritFieldsAndMapping: true
      updateEvent:
        requiredWatchFields:
          - name
          - address.city
"""
    )
    assert errors(manifest(body)) == [
        f"amp.yaml:18 {I0}.subscribe.objects[0].updateEvent.requiredWatchFields[1]: watch fields "
        'must be top-level fields, not nested paths, got "address.city"'
    ]


def test_salesforce_allows_at_most_five_subscribe_objects() -> None:
    names = ["account", "contact", "lead", "opportunity", "case", "campaign"]
    reads = "read:\n  objects:\n" + "".join(
        f'    - {{objectName: {name}, destination: wh, schedule: "0 * * * *"}}\n' for name in names
    )
    five = reads + subscribe(*(subscribe_object(name) for name in names[:5]))
    assert_clean(manifest(five))
    six = reads + subscribe(*(subscribe_object(name) for name in names))
    assert errors(manifest(six)) == [
        f'amp.yaml:14 {I0}.subscribe.objects: provider "salesforce" allows at most 5 subscribe '
        "objects, got 6"
    ]
    assert_clean(manifest(six, provider="hubspot"))


def test_duplicate_subscribe_objects() -> None:
    body = read_object() + subscribe(subscribe_object(), subscribe_object())
    assert errors(manifest(body)) == [
        f'amp.yaml:18 {I0}.subscribe.objects[1].objectName: duplicate object "account"'
    ]


# --- proxy and watchSchema ---------------------------------------------------------------------


def test_proxy_types() -> None:
    assert_clean(manifest("proxy:\n  enabled: true\n  useModule: false\n"))
    assert errors(manifest("proxy:\n  enabled: on\n")) == [
        f'amp.yaml:6 {I0}.proxy.enabled: expected a boolean (true or false), got a string "on"'
    ]
    assert errors(manifest("proxy: true\n")) == [
        f"amp.yaml:5 {I0}.proxy: expected a mapping, got a boolean"
    ]


def test_watch_schema() -> None:
    good = """\
watchSchema:
  destination: schemaHook
  schedule: "0 */6 * * *"
  allObjects:
    fieldCreated: {enabled: always}
    fieldDeleted: {enabled: always}
    fieldChanged: {enabled: always}
"""
    assert_clean(manifest(WRITE_CONTACT + good))
    too_often = good.replace("0 */6 * * *", "*/30 * * * *")
    assert errors(manifest(WRITE_CONTACT + too_often)) == [
        f'amp.yaml:10 {I0}.watchSchema.schedule: schedule "*/30 * * * *" is too frequent: runs 30 '
        "minutes apart; the minimum interval is 60 minutes"
    ]
    missing = "watchSchema:\n  allObjects:\n    fieldCreated: {}\n"
    assert errors(manifest(WRITE_CONTACT + missing)) == [
        f'amp.yaml:8 {I0}.watchSchema: missing required key "destination"',
        f'amp.yaml:10 {I0}.watchSchema.allObjects.fieldCreated: missing required key "enabled"',
    ]


# --- unknown keys --------------------------------------------------------------------------------


def test_unknown_keys_are_warnings_not_errors() -> None:
    text = """\
specVersion: 1.0.0
description: my integrations
integrations:
  - name: demo
    provider: salesforce
    wirte:
      objects: [{objectName: account}]
    read:
      objects:
        - objectName: account
          destination: wh
          scheduel: "*/10 * * * *"
          schedule: "*/10 * * * *"
          requiredFields:
            - feildName: name
              fieldName: name
          ObjectName: x
"""
    result = parse_manifest(text)
    assert errors(result) == []
    assert warnings(result) == [
        'amp.yaml:2 description: unknown key "description"',
        f'amp.yaml:6 {I0}.wirte: unknown key "wirte" (did you mean "write"?)',
        f'amp.yaml:12 {I0}.read.objects[0].scheduel: unknown key "scheduel" '
        '(did you mean "schedule"?)',
        f'amp.yaml:15 {I0}.read.objects[0].requiredFields[0].feildName: unknown key "feildName" '
        '(did you mean "fieldName"?)',
        f'amp.yaml:17 {I0}.read.objects[0].ObjectName: unknown key "ObjectName" '
        '(did you mean "objectName"?)',
    ]
    assert result.ok
    assert result.manifest is not None
    assert "wirte" not in result.manifest.integrations[0].content


def test_unknown_key_does_not_replace_a_required_one() -> None:
    body = "write:\n  objects:\n    - ObjectName: contact\n"
    result = manifest(body)
    assert errors(result) == [
        f'amp.yaml:7 {I0}.write.objects[0]: missing required key "objectName"'
    ]
    assert warnings(result) == [
        f'amp.yaml:7 {I0}.write.objects[0].ObjectName: unknown key "ObjectName" '
        '(did you mean "objectName"?)'
    ]


# --- many problems at once -----------------------------------------------------------------------


def test_all_problems_are_reported_in_line_order() -> None:
    text = """\
specVersion: 1.0.0
integrations:
  - name: Bad Name
    provider: salesforce
    read:
      objects:
        - objectName: account
          destination: 7
          schedule: "* * * * *"
    write:
      objects:
        - objectName: account
        - objectName: account
  - name: second
    provider: zoho
    subscribe:
      objects:
        - objectName: x
          destination: wh
          inheritFieldsAndMapping: true
          deleteEvent: {enabled: always}
"""
    assert errors(parse_manifest(text)) == [
        'amp.yaml:3 integrations[0].name: must contain only lowercase letters, digits, "-" and "_"',
        "amp.yaml:8 integrations[0].read.objects[0].destination: expected a string, got a number",
        'amp.yaml:9 integrations[0].read.objects[0].schedule: schedule "* * * * *" runs every '
        'minute; the minute field cannot be "*" (use e.g. "*/10 * * * *")',
        'amp.yaml:13 integrations[0].write.objects[1].objectName: duplicate object "account"',
        'amp.yaml:15 integrations[1].provider: unknown provider "zoho"; known providers: hubspot, '
        "salesforce",
        "amp.yaml:16 integrations[1].subscribe: subscribe requires a read section in the same "
        "integration",
    ]

"""Parsing amp.yaml: examples, the typed model, stored content, bad input of every kind."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from writeback.manifest import (
    FieldSpec,
    ManifestIssue,
    ManifestResult,
    ReadObjectSpec,
    WriteObjectSpec,
    format_issues,
    load_manifest_file,
    parse_manifest,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def parse(text: str) -> ManifestResult:
    return parse_manifest(textwrap.dedent(text))


def messages(result: ManifestResult) -> list[str]:
    return [str(issue) for issue in result.errors]


# --- examples ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["amp.yaml", "write-only.amp.yaml"])
def test_examples_parse_without_errors_or_warnings(name: str) -> None:
    result = load_manifest_file(EXAMPLES / name)
    assert result.errors == []
    assert result.warnings == []
    assert result.ok
    assert result.manifest is not None


def test_main_example_model() -> None:
    result = load_manifest_file(EXAMPLES / "amp.yaml")
    assert result.manifest is not None
    manifest = result.manifest
    assert manifest.spec_version == "1.0.0"
    assert [spec.name for spec in manifest.integrations] == [
        "write-to-salesforce",
        "write-to-hubspot",
    ]
    salesforce = manifest.integration("write-to-salesforce")
    assert salesforce is not None
    assert salesforce.display_name == "Write to Salesforce"
    assert salesforce.provider == "salesforce"
    assert salesforce.module is None
    assert salesforce.write_objects == [
        WriteObjectSpec("account", inherit_mapping=True),
        WriteObjectSpec("contact"),
        WriteObjectSpec("touchpoints__c"),
    ]
    assert salesforce.static_field_mappings("account") == {"companyName": "name"}
    assert salesforce.static_field_mappings("contact") == {"phone": "mobilephone"}
    assert salesforce.user_mapping_names("account") == ["notes"]
    account = salesforce.read_object("account")
    assert account is not None
    assert account.destination == "defaultWebhook"
    assert account.schedule == "*/30 * * * *"
    assert account.optional_fields[1] == FieldSpec(
        field_name=None,
        map_to_name="notes",
        map_to_display_name="Account notes",
        prompt="Which field holds your notes about an account?",
        default="description",
    )
    assert account.optional_fields[1].is_user_mapping

    hubspot = manifest.integration("write-to-hubspot")
    assert hubspot is not None
    assert [obj.object_name for obj in hubspot.write_objects] == ["contacts", "companies", "deals"]
    assert hubspot.write_object("contacts") == WriteObjectSpec("contacts", inherit_mapping=True)
    assert hubspot.static_field_mappings("contacts") == {"phone": "mobilephone"}
    assert hubspot.user_mapping_names("contacts") == ["notes"]


def test_write_only_example_matches_the_docs() -> None:
    result = load_manifest_file(EXAMPLES / "write-only.amp.yaml")
    assert result.manifest is not None
    (spec,) = result.manifest.integrations
    assert spec.content == {
        "name": "write-to-salesforce",
        "displayName": "Write to Salesforce",
        "provider": "salesforce",
        "write": {
            "objects": [
                {"objectName": "account"},
                {"objectName": "contact"},
                {"objectName": "touchpoints__c"},
            ]
        },
    }
    assert spec.read_objects == []
    assert spec.static_field_mappings("account") == {}
    assert spec.user_mapping_names("account") == []


def test_invalid_example_reports_each_deliberate_problem() -> None:
    path = EXAMPLES / "invalid.amp.yaml"
    result = load_manifest_file(path)
    assert result.manifest is None
    assert not result.ok
    where = str(path)
    assert messages(result) == [
        f'{where}:11 integrations[0].read.objects[0].schedule: schedule "*/5 * * * *" is too '
        "frequent: runs 5 minutes apart; the minimum interval is 10 minutes",
        f"{where}:16 integrations[0].read.objects[0].requiredFields[1].mapToName: "
        'duplicate mapToName "companyName"',
        f"{where}:21 integrations[0].write.objects[1].inheritMapping: "
        'expected a boolean (true or false), got a string "yes"',
        f'{where}:22 integrations[0].write.objects[2].objectName: duplicate object "contact"',
        f"{where}:25 integrations[1].name: "
        'must contain only lowercase letters, digits, "-" and "_"',
        f'{where}:26 integrations[1].provider: unknown provider "pipedrive"; '
        "known providers: hubspot, salesforce",
        f"{where}:28 integrations[1].write.objects: must be a non-empty list",
    ]
    assert [str(issue) for issue in result.warnings] == [
        f'{where}:23 integrations[0].write.objects[2].writeMode: unknown key "writeMode"'
    ]


# --- content ------------------------------------------------------------------------------

FULL = """\
specVersion: 1.0.0
integrations:
  - name: everything
    displayName: Everything
    provider: salesforce
    module: crm
    color: blue
    read:
      objects:
        - objectName: account
          destination: accountWebhook
          schedule: "0 */2 * * *"
          mapToName: company
          mapToDisplayName: Company
          enabled: always
          backfill:
            defaultPeriod:
              days: 30
          delivery:
            mode: onRequest
            pageSize: 100
          requiredFields:
            - fieldName: id
            - fieldName: $['address']['city']
              mapToName: city
          optionalFieldsAuto: all
          sortOrder: desc
    write:
      objects:
        - objectName: account
          inheritMapping: true
          valueDefaults:
            allowAnyFields: true
    proxy:
      enabled: true
      useModule: false
    subscribe:
      objects:
        - objectName: account
          destination: accountWebhook
          inheritFieldsAndMapping: true
          createEvent:
            enabled: always
          updateEvent:
            enabled: always
            watchFieldsAuto: all
          deleteEvent:
            enabled: always
          associationChangeEvent:
            enabled: always
            includeFullRecords: false
          otherEvents:
            - object.merged
    watchSchema:
      destination: schemaWebhook
      schedule: "0 */6 * * *"
      allObjects:
        fieldCreated:
          enabled: always
"""


def test_content_keeps_every_section_and_drops_unknown_keys() -> None:
    result = parse_manifest(FULL)
    assert result.errors == []
    assert [str(issue) for issue in result.warnings] == [
        'amp.yaml:7 integrations[0].color: unknown key "color"',
        'amp.yaml:27 integrations[0].read.objects[0].sortOrder: unknown key "sortOrder"',
    ]
    assert result.manifest is not None
    spec = result.manifest.integrations[0]
    content = spec.content
    assert list(content) == [
        "name",
        "displayName",
        "provider",
        "module",
        "read",
        "write",
        "proxy",
        "subscribe",
        "watchSchema",
    ]
    assert "color" not in content
    assert "sortOrder" not in content["read"]["objects"][0]
    assert content["read"]["objects"][0]["backfill"] == {"defaultPeriod": {"days": 30}}
    assert content["read"]["objects"][0]["delivery"] == {"mode": "onRequest", "pageSize": 100}
    assert content["proxy"] == {"enabled": True, "useModule": False}
    assert content["subscribe"]["objects"][0]["updateEvent"] == {
        "enabled": "always",
        "watchFieldsAuto": "all",
    }
    assert content["subscribe"]["objects"][0]["otherEvents"] == ["object.merged"]
    assert content["watchSchema"]["allObjects"] == {"fieldCreated": {"enabled": "always"}}
    assert spec.module == "crm"
    assert spec.write_objects == [
        WriteObjectSpec("account", inherit_mapping=True, value_defaults_allow_any_fields=True)
    ]
    assert spec.read_objects[0] == ReadObjectSpec(
        object_name="account",
        destination="accountWebhook",
        schedule="0 */2 * * *",
        map_to_name="company",
        map_to_display_name="Company",
        required_fields=(FieldSpec("id"), FieldSpec("$['address']['city']", "city")),
        optional_fields=(),
        optional_fields_auto=True,
        always_enabled=True,
    )
    assert spec.static_field_mappings("account") == {"city": "$['address']['city']"}


def _assert_plain(value: Any) -> None:
    if isinstance(value, dict):
        assert type(value) is dict
        for key, item in value.items():
            assert type(key) is str
            _assert_plain(item)
    elif isinstance(value, list):
        assert type(value) is list
        for item in value:
            _assert_plain(item)
    else:
        assert type(value) in (str, int, bool), type(value)


def test_content_is_plain_json_data() -> None:
    result = parse_manifest(FULL)
    assert result.manifest is not None
    content = result.manifest.integrations[0].content
    _assert_plain(content)
    assert json.loads(json.dumps(content)) == content


def test_content_is_not_shared_between_parses() -> None:
    first = parse_manifest(FULL).manifest
    second = parse_manifest(FULL).manifest
    assert first is not None and second is not None
    first.integrations[0].content["write"]["objects"].clear()
    assert second.integrations[0].write_objects != []


def test_lookups_are_exact_and_case_sensitive() -> None:
    result = load_manifest_file(EXAMPLES / "amp.yaml")
    assert result.manifest is not None
    spec = result.manifest.integrations[0]
    assert spec.write_object("Account") is None
    assert spec.read_object("ACCOUNT") is None
    assert spec.read_object("missing") is None
    assert spec.static_field_mappings("Account") == {}
    assert result.manifest.integration("WRITE-TO-SALESFORCE") is None


def test_display_name_defaults_to_name() -> None:
    result = parse(
        """\
        specVersion: 1.0.0
        integrations:
          - name: bare
            provider: hubspot
            write:
              objects:
                - objectName: contacts
        """
    )
    assert result.manifest is not None
    assert result.manifest.integrations[0].display_name == "bare"
    assert "displayName" not in result.manifest.integrations[0].content


# --- issues and their rendering -----------------------------------------------------------


def test_issue_str_with_and_without_line_and_path() -> None:
    path = "integrations[0].write.objects[1].objectName"
    issue = ManifestIssue("amp.yaml", 14, path, 'duplicate object "x"', "error")
    assert str(issue) == f'amp.yaml:14 {path}: duplicate object "x"'
    assert str(ManifestIssue("amp.yaml", None, "integrations[0]", "m", "error")) == (
        "amp.yaml integrations[0]: m"
    )
    assert str(ManifestIssue("amp.yaml", 3, "", "m", "warning")) == "amp.yaml:3: m"
    assert str(ManifestIssue("amp.yaml", None, "", "m", "error")) == "amp.yaml: m"


def test_format_issues_lists_errors_and_warnings_in_line_order() -> None:
    result = parse(
        """\
        specVersion: 1.0.0
        extra: 1
        integrations:
          - name: a
            provider: nope
            write:
              objects:
                - objectName: x
        """
    )
    assert format_issues(result) == "\n".join(
        [
            'warning: amp.yaml:2 extra: unknown key "extra"',
            'error: amp.yaml:5 integrations[0].provider: unknown provider "nope"; '
            "known providers: hubspot, salesforce",
            "1 error, 1 warning",
        ]
    )


def test_format_issues_when_clean() -> None:
    assert format_issues(load_manifest_file(EXAMPLES / "amp.yaml")) == "no problems found"


def test_warnings_alone_keep_the_manifest() -> None:
    result = parse(
        """\
        specVersion: 1.0.0
        integrations:
          - name: a
            provider: hubspot
            write:
              objects:
                - objectName: contacts
                  inheritMapping: true
                  colour: red
        """
    )
    assert result.ok
    assert result.manifest is not None
    assert len(result.warnings) == 2


# --- bad input never raises -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "amp.yaml: file is empty; expected specVersion and integrations"),
        ("# only a comment\n", "amp.yaml: file is empty; expected specVersion and integrations"),
        (
            "- a\n- b\n",
            "amp.yaml:1: expected a mapping, got a list "
            "(an amp.yaml holds specVersion and integrations)",
        ),
        (
            "42\n",
            "amp.yaml:1: expected a mapping, got a number "
            "(an amp.yaml holds specVersion and integrations)",
        ),
        (
            "hello\n",
            "amp.yaml:1: expected a mapping, got a string "
            "(an amp.yaml holds specVersion and integrations)",
        ),
    ],
)
def test_unusable_documents(text: str, expected: str) -> None:
    result = parse_manifest(text)
    assert messages(result) == [expected]
    assert result.manifest is None


def test_yaml_syntax_error_is_one_error_with_its_line() -> None:
    result = parse(
        """\
        specVersion: 1.0.0
        integrations:
          - name: a
            provider: [hubspot
        """
    )
    assert len(result.errors) == 1
    assert result.errors[0].line == 5
    assert result.errors[0].message.startswith("invalid YAML: ")
    assert result.manifest is None


def test_unquoted_cron_schedule_gets_a_hint() -> None:
    result = parse(
        """\
        specVersion: 1.0.0
        integrations:
          - name: a
            provider: hubspot
            read:
              objects:
                - objectName: contacts
                  destination: d
                  schedule: */30 * * * *
        """
    )
    (error,) = result.errors
    assert error.line == 9
    assert 'must be quoted, e.g. schedule: "*/30 * * * *"' in error.message


def test_duplicate_yaml_key_is_an_error_on_the_second_key() -> None:
    result = parse(
        """\
        specVersion: 1.0.0
        specVersion: 1.0.0
        integrations: []
        """
    )
    (error,) = result.errors
    assert error.line == 2
    assert 'duplicate key "specVersion"' in error.message


@pytest.mark.parametrize(
    "text",
    [
        "\x00\x01\x02\x03",
        "specVersion: 1.0.0\nintegrations:\n  - name: \x07\n",
        "a: b\n\tc: d\n",
        "---\na: 1\n---\nb: 2\n",
        "[" * 5000,
        "{{{{:}}}}",
        "specVersion: 1.0.0\nintegrations: &loop [*loop]\n",
        "specVersion: !!binary aGVsbG8=\nintegrations: !!set {a, b}\n",
        "? [a, b]\n: 1\nnull: 2\n1.5: 3\n",
    ],
)
def test_garbage_text_gives_errors_not_exceptions(text: str) -> None:
    result = parse_manifest(text)
    assert not result.ok
    assert result.manifest is None
    for issue in result.errors + result.warnings:
        assert str(issue).startswith("amp.yaml")


@pytest.mark.parametrize(
    "integrations",
    [
        "42",
        "true",
        "null",
        "'a string'",
        "{name: a}",
        "[1, 2.5, true, null, [], 'x']",
        "[{name: 1, provider: 2, write: 3, read: 4, subscribe: 5, proxy: 6, watchSchema: 7}]",
        "[{name: a, provider: hubspot, write: {objects: {objectName: x}}}]",
        "[{name: a, provider: hubspot, write: {objects: [[objectName, x]]}}]",
        "[{name: a, provider: hubspot, write: {objects: [{objectName: [x]}]}}]",
        "[{name: a, provider: hubspot, write: {objects: [{objectName: {x: 1}}]}}]",
        "[{name: a, provider: [hubspot], module: {m: 1}, write: {objects: [{objectName: x}]}}]",
        "[{name: a, provider: hubspot, read: {objects: [{objectName: x, destination: 5, "
        "schedule: 5, requiredFields: x, optionalFields: [1, null, {fieldName: 3}], "
        "backfill: 3, delivery: [], enabled: true}]}}]",
        "[{name: a, provider: hubspot, read: {objects: [{objectName: x, destination: d, "
        "schedule: '0 * * * *', backfill: {defaultPeriod: {days: x, fullHistory: 1}}, "
        "delivery: {mode: 1, pageSize: '100'}}]}}]",
        "[{name: a, provider: hubspot, read: {objects: []}, subscribe: {objects: [{objectName: x, "
        "destination: d, updateEvent: {watchFieldsAuto: 1, requiredWatchFields: x}, "
        "createEvent: always, otherEvents: x}]}}]",
        "[{name: a, provider: hubspot, proxy: {enabled: 'yes', useModule: 1}, "
        "watchSchema: {destination: [], schedule: {}, allObjects: {fieldCreated: {enabled: 1}}}}]",
    ],
)
def test_wrong_types_anywhere_give_errors_not_exceptions(integrations: str) -> None:
    result = parse_manifest(f"specVersion: 1.0.0\nintegrations: {integrations}\n")
    assert result.errors
    assert result.manifest is None
    assert all(issue.line is not None for issue in result.errors)


def test_numbers_where_strings_are_expected() -> None:
    result = parse(
        """\
        specVersion: 1.0
        integrations:
          - name: 12
            provider: hubspot
            write:
              objects:
                - objectName: 3
        """
    )
    assert messages(result) == [
        "amp.yaml:1 specVersion: expected a string, got a number (use specVersion: 1.0.0)",
        "amp.yaml:3 integrations[0].name: expected a string, got a number",
        "amp.yaml:7 integrations[0].write.objects[0].objectName: expected a string, got a number",
    ]


def test_non_text_input_is_an_error() -> None:
    result = parse_manifest(b"specVersion: 1.0.0")  # type: ignore[arg-type]
    assert messages(result) == ["amp.yaml: expected text, got bytes"]


# --- files --------------------------------------------------------------------------------


def test_load_file_names_the_path_as_given(tmp_path: Path) -> None:
    path = tmp_path / "my.amp.yaml"
    path.write_text("specVersion: 2.0.0\nintegrations: []\n")
    result = load_manifest_file(str(path))
    assert messages(result) == [
        f'{path}:1 specVersion: unsupported spec version "2.0.0"; must be "1.0.0"',
        f"{path}:2 integrations: must be a non-empty list",
    ]


def test_load_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    result = load_manifest_file(path)
    assert messages(result) == [f"{path}: cannot read file: No such file or directory"]


def test_load_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "amp.yaml"
    path.write_bytes(b"specVersion: 1.0.0\n\xff\xfe\x00\x81garbage")
    result = load_manifest_file(path)
    assert messages(result) == [f"{path}:2: file is not UTF-8 text"]


def test_load_file_with_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "amp.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + (EXAMPLES / "write-only.amp.yaml").read_bytes())
    assert load_manifest_file(path).ok

"""JSON Patch (RFC 6902 subset) applied to installation object config content."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from writeback.common.jsonpatch import (
    JsonPatchError,
    apply_json_patch,
    format_json_pointer,
    parse_json_pointer,
)


def config() -> dict[str, Any]:
    return {
        "schedule": "*/30 * * * *",
        "selectedFields": {"name": True, "billingcity": True},
        "fieldOrder": ["name", "billingcity"],
        "deletionSettings": None,
    }


def error_of(document: dict[str, Any], operations: list[Any]) -> JsonPatchError:
    with pytest.raises(JsonPatchError) as info:
        apply_json_patch(document, operations)
    return info.value


# --- pointers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pointer", "tokens"),
    [
        ("", []),
        ("/", [""]),
        ("/a/b", ["a", "b"]),
        ("/a~1b", ["a/b"]),
        ("/c~0d", ["c~d"]),
        ("/~01", ["~1"]),  # "~0" is decoded last, so this is "~1", never "/"
        ("/0/-", ["0", "-"]),
    ],
)
def test_parse_and_format_pointer_round_trip(pointer: str, tokens: list[str]) -> None:
    assert parse_json_pointer(pointer) == tokens
    assert format_json_pointer(tokens) == pointer


@pytest.mark.parametrize("pointer", ["a/b", "/a~", "/a~2b"])
def test_parse_pointer_rejects_malformed(pointer: str) -> None:
    with pytest.raises(ValueError):
        parse_json_pointer(pointer)


# --- add ------------------------------------------------------------------------------


def test_add_new_key() -> None:
    result = apply_json_patch(
        config(), [{"op": "add", "path": "/deletionSettings", "value": {"enabled": True}}]
    )
    assert result["deletionSettings"] == {"enabled": True}


def test_add_existing_key_replaces_it() -> None:
    result = apply_json_patch(config(), [{"op": "add", "path": "/schedule", "value": "@daily"}])
    assert result["schedule"] == "@daily"


def test_add_null_value_is_a_value() -> None:
    result = apply_json_patch(config(), [{"op": "add", "path": "/mapping", "value": None}])
    assert "mapping" in result and result["mapping"] is None


def test_add_nested_key() -> None:
    result = apply_json_patch(
        config(), [{"op": "add", "path": "/selectedFields/phone", "value": True}]
    )
    assert result["selectedFields"] == {"name": True, "billingcity": True, "phone": True}


def test_add_appends_with_dash_and_inserts_at_index() -> None:
    result = apply_json_patch(
        config(),
        [
            {"op": "add", "path": "/fieldOrder/-", "value": "phone"},
            {"op": "add", "path": "/fieldOrder/0", "value": "id"},
            {"op": "add", "path": "/fieldOrder/4", "value": "last"},  # len == 4: the end
        ],
    )
    assert result["fieldOrder"] == ["id", "name", "billingcity", "phone", "last"]


def test_escaped_keys_address_slash_and_tilde() -> None:
    result = apply_json_patch(
        {"selectedFields": {}},
        [
            {"op": "add", "path": "/selectedFields/a~1b", "value": 1},
            {"op": "add", "path": "/selectedFields/c~0d", "value": 2},
        ],
    )
    assert result == {"selectedFields": {"a/b": 1, "c~d": 2}}


def test_empty_key_is_a_valid_key() -> None:
    assert apply_json_patch({}, [{"op": "add", "path": "/", "value": 1}]) == {"": 1}


# --- remove / replace ----------------------------------------------------------------


def test_remove_key_and_array_element() -> None:
    result = apply_json_patch(
        config(),
        [
            {"op": "remove", "path": "/selectedFields/billingcity"},
            {"op": "remove", "path": "/fieldOrder/0"},
        ],
    )
    assert result["selectedFields"] == {"name": True}
    assert result["fieldOrder"] == ["billingcity"]


def test_replace_key_and_array_element() -> None:
    result = apply_json_patch(
        config(),
        [
            {"op": "replace", "path": "/schedule", "value": "*/10 * * * *"},
            {"op": "replace", "path": "/fieldOrder/1", "value": "phone"},
            {"op": "replace", "path": "/deletionSettings", "value": {"enabled": False}},
        ],
    )
    assert result["schedule"] == "*/10 * * * *"
    assert result["fieldOrder"] == ["name", "phone"]
    assert result["deletionSettings"] == {"enabled": False}


# --- move / copy / test --------------------------------------------------------------


def test_move_and_copy() -> None:
    result = apply_json_patch(
        config(),
        [
            {"op": "move", "from": "/selectedFields/billingcity", "path": "/selectedFields/city"},
            {"op": "copy", "from": "/fieldOrder", "path": "/backup"},
            {"op": "move", "from": "/fieldOrder/0", "path": "/fieldOrder/-"},
        ],
    )
    assert result["selectedFields"] == {"name": True, "city": True}
    assert result["backup"] == ["name", "billingcity"]
    assert result["fieldOrder"] == ["billingcity", "name"]


def test_copy_is_independent_of_its_source() -> None:
    result = apply_json_patch(
        config(),
        [
            {"op": "copy", "from": "/selectedFields", "path": "/copied"},
            {"op": "add", "path": "/copied/extra", "value": True},
        ],
    )
    assert "extra" not in result["selectedFields"]


def test_move_onto_itself_is_a_no_op() -> None:
    assert apply_json_patch(
        config(), [{"op": "move", "from": "/schedule", "path": "/schedule"}]
    ) == (config())


def test_test_passes_with_json_equality() -> None:
    document = {"n": 1, "flag": True, "nested": {"a": [1, {"b": None}]}}
    apply_json_patch(
        document,
        [
            {"op": "test", "path": "/n", "value": 1.0},
            {"op": "test", "path": "/flag", "value": True},
            {"op": "test", "path": "/nested", "value": {"a": [1, {"b": None}]}},
        ],
    )


@pytest.mark.parametrize(
    ("path", "value"),
    [("/flag", 1), ("/n", True), ("/n", "1"), ("/nested", {"a": [1]}), ("/nested/a", [1, {}])],
)
def test_test_fails_when_values_differ(path: str, value: Any) -> None:
    document = {"n": 1, "flag": True, "nested": {"a": [1, {"b": None}]}}
    error = error_of(document, [{"op": "test", "path": path, "value": value}])
    assert error.message.startswith("test failed: expected ")


def test_test_failure_message() -> None:
    error = error_of(config(), [{"op": "test", "path": "/schedule", "value": "@daily"}])
    assert str(error) == (
        'changes[0].path "/schedule": test failed: expected "@daily", found "*/30 * * * *"'
    )


# --- non-mutation and atomicity ------------------------------------------------------


def test_input_document_and_operations_are_not_mutated() -> None:
    document = config()
    value = {"enabled": True}
    operations = [
        {"op": "add", "path": "/deletionSettings", "value": value},
        {"op": "remove", "path": "/selectedFields/name"},
        {"op": "add", "path": "/fieldOrder/-", "value": "x"},
    ]
    before_doc, before_ops = copy.deepcopy(document), copy.deepcopy(operations)
    result = apply_json_patch(document, operations)
    assert document == before_doc
    assert operations == before_ops
    result["deletionSettings"]["enabled"] = False
    assert value == {"enabled": True}  # the result does not share the operation's value


def test_failure_leaves_input_unchanged() -> None:
    document = config()
    error_of(
        document,
        [
            {"op": "remove", "path": "/schedule"},
            {"op": "remove", "path": "/nope"},
        ],
    )
    assert document == config()


def test_empty_patch_returns_an_equal_copy() -> None:
    document = config()
    result = apply_json_patch(document, [])
    assert result == document and result is not document


# --- errors: messages say what and how to fix ----------------------------------------


@pytest.mark.parametrize(
    ("operations", "expected"),
    [
        (
            [{"path": "/x"}],
            'changes[0].op: missing "op"; set it to one of '
            '"add", "remove", "replace", "move", "copy", "test"',
        ),
        (
            [{"op": "merge", "path": "/x"}],
            'changes[0].op: unknown op "merge"; use one of '
            '"add", "remove", "replace", "move", "copy", "test"',
        ),
        (
            [{"op": "remove"}],
            'changes[0]: missing "path"; give a JSON Pointer such as "/schedule"',
        ),
        (
            [{"op": "remove", "path": 3}],
            'changes[0]: "path" must be a string JSON Pointer such as "/schedule", got a number',
        ),
        (
            [{"op": "remove", "path": "schedule"}],
            'changes[0].path "schedule": must start with "/", e.g. "/schedule"',
        ),
        (
            [{"op": "remove", "path": ""}],
            'changes[0].path "": cannot target the whole document; '
            'point at a key, e.g. "/schedule"',
        ),
        (
            [{"op": "remove", "path": "/a~2b"}],
            'changes[0].path "/a~2b": invalid escape in token "a~2b"; '
            'write "~0" for "~" and "~1" for "/"',
        ),
        (
            [{"op": "add", "path": "/x"}],
            'changes[0].value: "add" needs a "value" member (use null to add a null value)',
        ),
        (
            [{"op": "replace", "path": "/schedule"}],
            'changes[0].value: "replace" needs a "value" member (use null to replace a null value)',
        ),
        (
            [{"op": "test", "path": "/schedule"}],
            'changes[0].value: "test" needs a "value" member (use null to test a null value)',
        ),
        (
            [{"op": "move", "path": "/x"}],
            'changes[0]: missing "from"; give a JSON Pointer such as "/selectedFields/name"',
        ),
        (
            ["remove /x"],
            'changes[0]: must be an object like {"op": "add", "path": "/x", "value": 1}, '
            "got a string",
        ),
    ],
)
def test_malformed_operations(operations: list[Any], expected: str) -> None:
    assert str(error_of(config(), operations)) == expected


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        (
            {"op": "remove", "path": "/selectedFields/foo"},
            'changes[1].path "/selectedFields/foo": cannot remove, key "foo" does not exist',
        ),
        (
            {"op": "replace", "path": "/mapping", "value": 1},
            'changes[1].path "/mapping": replace needs an existing value at "/mapping"; use "add"',
        ),
        (
            {"op": "add", "path": "/mapping/account", "value": 1},
            'changes[1].path "/mapping/account": cannot add: "/mapping" does not exist; '
            "add it first (e.g. with value {})",
        ),
        (
            {"op": "add", "path": "/schedule/x", "value": 1},
            'changes[1].path "/schedule/x": cannot add: "/schedule" is a string, '
            "not an object or array",
        ),
        (
            {"op": "add", "path": "/deletionSettings/enabled", "value": True},
            'changes[1].path "/deletionSettings/enabled": cannot add: "/deletionSettings" '
            "is null, not an object or array",
        ),
        (
            {"op": "add", "path": "/fieldOrder/5", "value": "x"},
            'changes[1].path "/fieldOrder/5": cannot add: index 5 is out of range; '
            "valid indexes are 0..2",
        ),
        (
            {"op": "remove", "path": "/fieldOrder/2"},
            'changes[1].path "/fieldOrder/2": cannot remove: index 2 is out of range; '
            "valid indexes are 0..1",
        ),
        (
            {"op": "replace", "path": "/fieldOrder/-", "value": "x"},
            'changes[1].path "/fieldOrder/-": cannot replace: "-" (append) is only valid '
            'as the last token of an "add" path',
        ),
        (
            {"op": "add", "path": "/fieldOrder/01", "value": "x"},
            'changes[1].path "/fieldOrder/01": cannot add: "01" is not an array index; '
            'valid indexes are 0..2, "-" appends with "add"',
        ),
        (
            {"op": "remove", "path": "/fieldOrder/first"},
            'changes[1].path "/fieldOrder/first": cannot remove: "first" is not an array '
            'index; valid indexes are 0..1, "-" appends with "add"',
        ),
        (
            {"op": "add", "path": "/fieldOrder/9/x", "value": 1},
            'changes[1].path "/fieldOrder/9/x": cannot add: "/fieldOrder/9" is past the end '
            "of an array of length 2",
        ),
        (
            {"op": "add", "path": "/fieldOrder/-/x", "value": 1},
            'changes[1].path "/fieldOrder/-/x": cannot add: "/fieldOrder/-": "-" (append) is '
            'only valid as the last token of an "add" path',
        ),
        (
            {"op": "copy", "from": "/nope", "path": "/x"},
            'changes[1].from "/nope": cannot copy, key "nope" does not exist',
        ),
        (
            {"op": "move", "from": "/selectedFields", "path": "/selectedFields/inner"},
            'changes[1].from "/selectedFields": cannot move a value into its own child '
            '"/selectedFields/inner"; copy it first or choose another destination',
        ),
        (
            {"op": "move", "from": "/fieldOrder/7", "path": "/x"},
            'changes[1].from "/fieldOrder/7": cannot move: index 7 is out of range; '
            "valid indexes are 0..1",
        ),
        (
            {"op": "test", "path": "/nope", "value": 1},
            'changes[1].path "/nope": cannot test, key "nope" does not exist',
        ),
    ],
)
def test_target_errors(operation: dict[str, Any], expected: str) -> None:
    # A harmless first change checks that the index in the message is the failing one.
    first = {"op": "test", "path": "/schedule", "value": "*/30 * * * *"}
    error = error_of(config(), [first, operation])
    assert str(error) == expected
    assert error.index == 1


def test_empty_array_hint() -> None:
    error = error_of({"items": []}, [{"op": "remove", "path": "/items/0"}])
    assert error.message == (
        'cannot remove: index 0 is out of range; the array is empty; use "add" with "-" to append'
    )


def test_error_attributes_for_problem_details() -> None:
    error = error_of(config(), [{"op": "remove", "path": "/selectedFields/foo"}])
    assert (error.index, error.path, error.field) == (0, "/selectedFields/foo", "path")
    assert error.location == 'changes[0].path "/selectedFields/foo"'
    assert error.message == 'cannot remove, key "foo" does not exist'
    assert isinstance(error, ValueError)

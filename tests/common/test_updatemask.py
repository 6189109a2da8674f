"""Google-style update masks as used by updateInstallation."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from writeback.common.updatemask import (
    UpdateMaskError,
    apply_update_mask,
    format_mask_path,
    match_allowed,
    parse_mask_path,
)

ALLOWED = [
    "connectionId",
    "config.createdBy",
    "config.content.read.objects.*",
    "config.content.write.objects.*",
    "config.content.write.objects",
    "config.content.proxy.enabled",
]
ALLOWED_TEXT = ", ".join(ALLOWED)


def installation() -> dict[str, Any]:
    return {
        "connectionId": "conn-1",
        "config": {
            "createdBy": "api:create-installation",
            "content": {
                "read": {"objects": {"account": {"schedule": "@daily"}}},
                "write": {"objects": {"contact": {"objectName": "contact"}}},
            },
        },
    }


def error_of(mask: Any, source: dict[str, Any] | None = None) -> UpdateMaskError:
    with pytest.raises(UpdateMaskError) as info:
        apply_update_mask(installation(), source or {}, mask, ALLOWED)
    return info.value


# --- parsing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "segments"),
    [
        ("connectionId", ["connectionId"]),
        (
            "config.content.read.objects.account",
            ["config", "content", "read", "objects", "account"],
        ),
        (r"objects.Foo\.Bar", ["objects", "Foo.Bar"]),
        (r"objects.ns\:Thing", ["objects", "ns:Thing"]),
        (r"objects.back\\slash", ["objects", "back\\slash"]),
        ("config.content.read.objects.*", ["config", "content", "read", "objects", "*"]),
    ],
)
def test_parse_and_format_round_trip(path: str, segments: list[str]) -> None:
    assert parse_mask_path(path) == segments
    assert format_mask_path(segments) == path


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("", 'is empty; name a field such as "connectionId"'),
        (
            "a..b",
            'has an empty key at position 2; remove the extra dot or escape a literal dot as "\\."',
        ),
        (
            ".a",
            'has an empty key at position 0; remove the extra dot or escape a literal dot as "\\."',
        ),
        (
            "a.",
            'has an empty key at position 2; remove the extra dot or escape a literal dot as "\\."',
        ),
        ("a:b", 'has an unescaped ":" at position 1; write it as "\\:"'),
        ("a\\", 'ends with a lone "\\"; escape a backslash as "\\\\"'),
        (
            "a\\x",
            'unknown escape "\\x" at position 1; only "\\.", "\\:" and "\\\\" are escapes',
        ),
    ],
)
def test_parse_rejects_malformed(path: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_mask_path(path)
    assert str(info.value) == message


def test_match_allowed_wildcard_is_one_key() -> None:
    patterns = [parse_mask_path(p) for p in ALLOWED]
    assert match_allowed(["config", "content", "read", "objects", "account"], patterns)
    assert match_allowed(["config", "content", "write", "objects"], patterns)
    assert not match_allowed(["config", "content", "read", "objects"], patterns)
    assert not match_allowed(["config", "content", "read", "objects", "a", "b"], patterns)
    assert not match_allowed(["config"], patterns)


# --- applying -------------------------------------------------------------------------


def test_replaces_only_masked_fields() -> None:
    source = {"connectionId": "conn-2", "config": {"createdBy": "someone-else"}}
    result = apply_update_mask(installation(), source, ["connectionId"], ALLOWED)
    expected = installation()
    expected["connectionId"] = "conn-2"
    assert result == expected


def test_wildcard_pattern_accepts_a_named_object() -> None:
    source = {"config": {"content": {"read": {"objects": {"account": {"schedule": "@hourly"}}}}}}
    result = apply_update_mask(
        installation(), source, ["config.content.read.objects.account"], ALLOWED
    )
    assert result["config"]["content"]["read"]["objects"]["account"] == {"schedule": "@hourly"}
    assert result["config"]["content"]["write"] == installation()["config"]["content"]["write"]


def test_whole_map_mask_replaces_the_map() -> None:
    source = {"config": {"content": {"write": {"objects": {"lead": {"objectName": "lead"}}}}}}
    result = apply_update_mask(installation(), source, ["config.content.write.objects"], ALLOWED)
    assert result["config"]["content"]["write"]["objects"] == {"lead": {"objectName": "lead"}}


def test_creates_intermediate_objects() -> None:
    source = {"config": {"content": {"proxy": {"enabled": True}}}}
    result = apply_update_mask(installation(), source, ["config.content.proxy.enabled"], ALLOWED)
    assert result["config"]["content"]["proxy"] == {"enabled": True}


def test_null_intermediate_in_target_becomes_an_object() -> None:
    target = {"config": {"content": {"proxy": None}}}
    source = {"config": {"content": {"proxy": {"enabled": False}}}}
    result = apply_update_mask(target, source, ["config.content.proxy.enabled"], ALLOWED)
    assert result == {"config": {"content": {"proxy": {"enabled": False}}}}


def test_escaped_key_is_one_key() -> None:
    source = {"config": {"content": {"write": {"objects": {"ns:Foo.Bar": {"x": 1}}}}}}
    result = apply_update_mask(
        installation(), source, [r"config.content.write.objects.ns\:Foo\.Bar"], ALLOWED
    )
    assert result["config"]["content"]["write"]["objects"]["ns:Foo.Bar"] == {"x": 1}


def test_null_value_is_set_not_removed() -> None:
    source = {"connectionId": None}
    assert (
        apply_update_mask(installation(), source, ["connectionId"], ALLOWED)["connectionId"] is None
    )


def test_absent_in_source_removes_from_target() -> None:
    result = apply_update_mask(
        installation(), {}, ["config.content.write.objects.contact", "config.createdBy"], ALLOWED
    )
    assert result["config"]["content"]["write"]["objects"] == {}
    assert "createdBy" not in result["config"]


def test_null_parent_in_source_counts_as_absent() -> None:
    source = {"config": {"content": None}}
    result = apply_update_mask(installation(), source, ["config.content.proxy.enabled"], ALLOWED)
    assert result == installation()  # nothing to remove, nothing created


def test_removing_a_missing_field_is_a_no_op() -> None:
    result = apply_update_mask({}, {}, ["config.content.read.objects.account"], ALLOWED)
    assert result == {}


def test_inputs_are_not_mutated_and_result_is_independent() -> None:
    target, source = installation(), {"config": {"content": {"proxy": {"enabled": True}}}}
    before_target, before_source = copy.deepcopy(target), copy.deepcopy(source)
    mask = ["config.content.proxy.enabled", "config.content.write.objects"]
    result = apply_update_mask(target, source, mask, ALLOWED)
    assert target == before_target and source == before_source
    result["config"]["content"]["proxy"]["enabled"] = False
    assert source == before_source


def test_source_object_values_are_copied() -> None:
    objects = {"lead": {"objectName": "lead"}}
    source = {"config": {"content": {"write": {"objects": objects}}}}
    result = apply_update_mask({}, source, ["config.content.write.objects"], ALLOWED)
    result["config"]["content"]["write"]["objects"]["lead"]["objectName"] = "changed"
    assert objects == {"lead": {"objectName": "lead"}}


# --- errors ---------------------------------------------------------------------------


def test_not_allowed_path_lists_allowed_masks() -> None:
    error = error_of(["config.content"])
    assert str(error) == (
        f'updateMask "config.content": is not an updatable field; allowed: {ALLOWED_TEXT}'
    )
    assert error.path == "config.content"
    assert error.allowed == ALLOWED


def test_wildcard_pattern_does_not_match_the_map_itself() -> None:
    assert error_of(["config.content.read.objects"]).message.startswith("is not an updatable")


def test_empty_mask() -> None:
    error = error_of([])
    assert str(error) == (
        f"updateMask: is empty; list the fields to update, one or more of: {ALLOWED_TEXT}"
    )
    assert error.path == ""


def test_single_string_instead_of_list() -> None:
    assert str(error_of("connectionId")) == (
        'updateMask: must be a list of paths, e.g. ["connectionId"], not a single string'
    )


def test_non_string_path() -> None:
    assert str(error_of([7])) == 'updateMask "7": must be a string path such as "connectionId"'


def test_malformed_path() -> None:
    error = error_of(["config..createdBy"])
    assert str(error) == (
        'updateMask "config..createdBy": has an empty key at position 7; '
        'remove the extra dot or escape a literal dot as "\\."'
    )


def test_unescaped_colon() -> None:
    error = error_of(["config.content.write.objects.ns:Foo"])
    assert error.message == 'has an unescaped ":" at position 31; write it as "\\:"'


def test_wildcard_in_request_is_rejected() -> None:
    error = error_of(["config.content.read.objects.*"])
    assert error.message == (
        "wildcards are not allowed in a request; name each key, e.g. "
        '"config.content.read.objects.account"'
    )


def test_every_path_is_validated_before_applying() -> None:
    # The first path is fine; the second fails; nothing is returned half-applied.
    error = error_of(["connectionId", "nope"], {"connectionId": "conn-2"})
    assert error.path == "nope"


def test_source_intermediate_not_an_object() -> None:
    error = error_of(["config.createdBy"], {"config": "oops"})
    assert error.message == '"config" in the request body must be an object to hold "createdBy"'


def test_target_intermediate_not_an_object() -> None:
    with pytest.raises(UpdateMaskError) as info:
        apply_update_mask(
            {"config": {"content": {"proxy": "on"}}},
            {"config": {"content": {"proxy": {"enabled": True}}}},
            ["config.content.proxy.enabled"],
            ALLOWED,
        )
    assert info.value.message == (
        'cannot set inside "config.content.proxy": the stored value is not an object'
    )


def test_malformed_allowed_pattern_is_a_programming_error() -> None:
    with pytest.raises(ValueError) as info:
        apply_update_mask({}, {}, ["a"], ["a..b"])
    assert not isinstance(info.value, UpdateMaskError)
    assert "allowed update mask pattern 'a..b'" in str(info.value)

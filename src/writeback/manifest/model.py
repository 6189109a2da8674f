"""The typed view of a valid amp.yaml.

`IntegrationSpec.content` (the integration element as plain JSON) is the source of truth: it is
what a deploy stores as the revision content; the typed accessors read from it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldSpec:
    """One `requiredFields` / `optionalFields` entry.

    With `field_name` it is a provider field (optionally renamed by `map_to_name`); without it,
    a user-defined mapping the customer points at one of their fields when installing.
    """

    field_name: str | None
    map_to_name: str | None = None
    map_to_display_name: str | None = None
    prompt: str | None = None
    default: str | None = None

    @property
    def is_user_mapping(self) -> bool:
        return self.field_name is None


@dataclass(frozen=True)
class WriteObjectSpec:
    object_name: str
    inherit_mapping: bool = False
    value_defaults_allow_any_fields: bool = False


@dataclass(frozen=True)
class ReadObjectSpec:
    object_name: str
    destination: str
    schedule: str
    map_to_name: str | None = None
    map_to_display_name: str | None = None
    required_fields: tuple[FieldSpec, ...] = ()
    optional_fields: tuple[FieldSpec, ...] = ()
    optional_fields_auto: bool = False
    always_enabled: bool = False

    @property
    def fields(self) -> tuple[FieldSpec, ...]:
        return self.required_fields + self.optional_fields


def _field(entry: dict[str, Any]) -> FieldSpec:
    return FieldSpec(
        field_name=entry.get("fieldName"),
        map_to_name=entry.get("mapToName"),
        map_to_display_name=entry.get("mapToDisplayName"),
        prompt=entry.get("prompt"),
        default=entry.get("default"),
    )


def _read_object(obj: dict[str, Any]) -> ReadObjectSpec:
    return ReadObjectSpec(
        object_name=obj["objectName"],
        destination=obj["destination"],
        schedule=obj["schedule"],
        map_to_name=obj.get("mapToName"),
        map_to_display_name=obj.get("mapToDisplayName"),
        required_fields=tuple(_field(entry) for entry in obj.get("requiredFields", [])),
        optional_fields=tuple(_field(entry) for entry in obj.get("optionalFields", [])),
        optional_fields_auto=obj.get("optionalFieldsAuto") == "all",
        always_enabled=obj.get("enabled") == "always",
    )


def _write_object(obj: dict[str, Any]) -> WriteObjectSpec:
    return WriteObjectSpec(
        object_name=obj["objectName"],
        inherit_mapping=obj.get("inheritMapping", False),
        value_defaults_allow_any_fields=obj.get("valueDefaults", {}).get("allowAnyFields", False),
    )


@dataclass
class IntegrationSpec:
    """One entry of `integrations`."""

    name: str
    display_name: str
    provider: str
    module: str | None
    content: dict[str, Any]

    @classmethod
    def from_content(cls, content: dict[str, Any]) -> IntegrationSpec:
        """Build from a validated integration element (it is copied, not shared)."""
        content = copy.deepcopy(content)
        return cls(
            name=content["name"],
            display_name=content.get("displayName") or content["name"],
            provider=content["provider"],
            module=content.get("module"),
            content=content,
        )

    def _objects(self, section: str) -> list[dict[str, Any]]:
        return list((self.content.get(section) or {}).get("objects") or [])

    @property
    def write_objects(self) -> list[WriteObjectSpec]:
        return [_write_object(obj) for obj in self._objects("write")]

    @property
    def read_objects(self) -> list[ReadObjectSpec]:
        return [_read_object(obj) for obj in self._objects("read")]

    def write_object(self, name: str) -> WriteObjectSpec | None:
        """The write object whose objectName is exactly `name`."""
        return next((obj for obj in self.write_objects if obj.object_name == name), None)

    def read_object(self, name: str) -> ReadObjectSpec | None:
        """The read object whose objectName is exactly `name`."""
        return next((obj for obj in self.read_objects if obj.object_name == name), None)

    def static_field_mappings(self, object_name: str) -> dict[str, str]:
        """mapToName → fieldName for read fields of `object_name` that declare both."""
        read = self.read_object(object_name)
        if read is None:
            return {}
        return {
            spec.map_to_name: spec.field_name
            for spec in read.fields
            if spec.map_to_name is not None and spec.field_name is not None
        }

    def user_mapping_names(self, object_name: str) -> list[str]:
        """mapToNames of `object_name` that each customer maps to a field of their choosing."""
        read = self.read_object(object_name)
        if read is None:
            return []
        return [
            spec.map_to_name for spec in read.fields if spec.map_to_name and spec.is_user_mapping
        ]


@dataclass
class Manifest:
    spec_version: str
    integrations: list[IntegrationSpec] = field(default_factory=list)

    def integration(self, name: str) -> IntegrationSpec | None:
        return next((spec for spec in self.integrations if spec.name == name), None)


def build_manifest(document: dict[str, Any]) -> Manifest:
    """Build the typed manifest from a document that passed validation."""
    return Manifest(
        spec_version=document["specVersion"],
        integrations=[IntegrationSpec.from_content(item) for item in document["integrations"]],
    )

"""Object types and property definitions of one portal, and how path names resolve to them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

# Turns a written value into the stored string, or raises validation.Invalid.
Validator = Callable[[str], str]

_EPOCH_ISO = "2019-08-06T02:41:08.204Z"


@dataclass(frozen=True, slots=True)
class PropertyDef:
    name: str
    label: str
    type: str  # string | number | date | datetime | enumeration | bool
    field_type: str
    group: str
    description: str = ""
    options: tuple[tuple[str, str], ...] = ()  # (value, label)
    unique: bool = False
    read_only: bool = False
    hubspot_defined: bool = True
    hidden: bool = False
    display_order: int = -1
    calculated: bool = False
    external_options: bool = False
    referenced_object_type: str | None = None
    email: bool = False  # validated as an email address (contacts' `email`)
    created_at: str = _EPOCH_ISO
    updated_at: str = _EPOCH_ISO
    archived: bool = False

    @property
    def option_values(self) -> tuple[str, ...]:
        return tuple(value for value, _ in self.options)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "updatedAt": self.updated_at,
            "createdAt": self.created_at,
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group,
            "options": [
                {"label": label, "value": value, "displayOrder": i, "hidden": False}
                for i, (value, label) in enumerate(self.options)
            ],
            "displayOrder": self.display_order,
            "calculated": self.calculated,
            "externalOptions": self.external_options,
            "hasUniqueValue": self.unique,
            "hidden": self.hidden,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only,
            },
            "formField": not self.read_only,
            "dataSensitivity": "non_sensitive",
        }
        if self.hubspot_defined:
            body["hubspotDefined"] = True
        else:
            body["archived"] = self.archived
        if self.referenced_object_type:
            body["referencedObjectType"] = self.referenced_object_type
        return body


@dataclass
class ObjectType:
    type_id: str  # "0-1", or "2-1234567" for the custom object
    name: str  # plural path name: "contacts"
    singular: str  # "contact"
    fqn: str  # fullyQualifiedName: "CONTACT", "p12345678_touchpoints"
    label_singular: str
    label_plural: str
    created_prop: str  # createdate, or hs_createdate on custom objects
    modified_prop: str  # lastmodifieddate on contacts, hs_lastmodifieddate elsewhere
    default_props: tuple[str, ...]  # what GET returns without ?properties=
    primary_display: str
    secondary_display: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    description: str = ""
    custom: bool = False
    schema_id: str = ""
    properties: dict[str, PropertyDef] = field(default_factory=dict)
    validators: dict[str, Validator] = field(default_factory=dict)
    # Kept in step with `properties`: the write path checks these on every record.
    unique_props: list[str] = field(default_factory=list)

    @property
    def upper(self) -> str:
        """The name HubSpot uses in messages: CONTACT, COMPANY, ..."""
        return self.fqn if self.custom else self.fqn.upper()

    def add_property(self, definition: PropertyDef, validator: Validator) -> None:
        self.properties[definition.name] = definition
        self.validators[definition.name] = validator
        self._index_unique()

    def remove_property(self, name: str) -> None:
        self.properties.pop(name, None)
        self.validators.pop(name, None)
        self._index_unique()

    def _index_unique(self) -> None:
        self.unique_props = [p.name for p in self.properties.values() if p.unique]

    def aliases(self) -> set[str]:
        names = {self.type_id, self.name, self.singular, self.fqn}
        if self.custom:
            names.add(f"p_{self.name}")
        return {n.lower() for n in names}


class TypeRegistry:
    """A portal's object types, found by id, plural, singular or fully-qualified name."""

    def __init__(self, types: list[ObjectType]) -> None:
        self.by_id: dict[str, ObjectType] = {t.type_id: t for t in types}
        self._aliases: dict[str, ObjectType] = {}
        for object_type in types:
            for alias in object_type.aliases():
                self._aliases[alias] = object_type

    def resolve(self, name: str) -> ObjectType | None:
        found = self._aliases.get(name)
        if found is None:
            found = self._aliases.get(name.lower())
        return found

    def __iter__(self) -> Iterator[ObjectType]:
        return iter(self.by_id.values())

"""Field definitions of the emulated objects, and short constructors for each field type."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "string": "xsd:string",
    "textarea": "xsd:string",
    "email": "xsd:string",
    "phone": "xsd:string",
    "url": "xsd:string",
    "picklist": "xsd:string",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "address": "urn:address",
}
TEXT_TYPES = frozenset({"string", "textarea", "email", "phone", "url", "picklist"})
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    label: str
    type: str
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    default_value: Any = None
    custom: bool = False
    external_id: bool = False
    unique: bool = False
    case_sensitive: bool = False
    id_lookup: bool = False
    name_field: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    child_relationship: str | None = None  # the parent's name for the list of these records
    compound_field_name: str | None = None
    components: tuple[str, ...] = ()  # address: the fields it is made of, in JSON key order
    extra_type_info: str | None = None
    html_formatted: bool = False

    @property
    def required_on_create(self) -> bool:
        return self.createable and not self.nillable and not self.defaulted_on_create

    @property
    def soap_type(self) -> str:
        return SOAP_TYPES[self.type]


def _custom(name: str) -> bool:
    return name.endswith("__c")


def text(name: str, label: str, length: int, **kw: Any) -> Field:
    return Field(name, label, "string", length=length, custom=_custom(name), **kw)


def textarea(name: str, label: str, length: int = 32000, **kw: Any) -> Field:
    extra = "plaintextarea" if length <= 255 else None
    return Field(
        name,
        label,
        "textarea",
        length=length,
        custom=_custom(name),
        extra_type_info=extra,
        **kw,
    )


def email(name: str, label: str, **kw: Any) -> Field:
    return Field(name, label, "email", length=80, custom=_custom(name), **kw)


def phone(name: str, label: str, **kw: Any) -> Field:
    return Field(name, label, "phone", length=40, custom=_custom(name), **kw)


def url(name: str, label: str, **kw: Any) -> Field:
    return Field(name, label, "url", length=255, custom=_custom(name), **kw)


def picklist(
    name: str, label: str, values: tuple[str, ...], *, restricted: bool = False, **kw: Any
) -> Field:
    return Field(
        name,
        label,
        "picklist",
        length=255,
        picklist=values,
        restricted=restricted,
        custom=_custom(name),
        **kw,
    )


def boolean(name: str, label: str, *, default: bool = False, **kw: Any) -> Field:
    kw.setdefault("nillable", False)
    kw.setdefault("defaulted_on_create", True)
    return Field(name, label, "boolean", default_value=default, custom=_custom(name), **kw)


def integer(name: str, label: str, digits: int = 8, **kw: Any) -> Field:
    return Field(name, label, "int", digits=digits, custom=_custom(name), **kw)


def number(
    name: str, label: str, precision: int = 18, scale: int = 2, kind: str = "double", **kw: Any
) -> Field:
    return Field(name, label, kind, precision=precision, scale=scale, custom=_custom(name), **kw)


def date(name: str, label: str, **kw: Any) -> Field:
    return Field(name, label, "date", custom=_custom(name), **kw)


def datetime_(name: str, label: str, **kw: Any) -> Field:
    return Field(name, label, "datetime", custom=_custom(name), **kw)


def reference(
    name: str,
    label: str,
    to: str,
    relationship: str | None = None,
    children: str | None = None,
    **kw: Any,
) -> Field:
    if relationship is None:
        relationship = name[:-3] + "__r" if _custom(name) else name.removesuffix("Id")
    return Field(
        name,
        label,
        "reference",
        length=18,
        reference_to=(to,),
        relationship_name=relationship,
        child_relationship=children,
        custom=_custom(name),
        **kw,
    )


def address(name: str, label: str, components: tuple[str, ...]) -> Field:
    return Field(name, label, "address", createable=False, updateable=False, components=components)


def read_only(field: Field, **kw: Any) -> Field:
    """The same field, neither createable nor updateable (system and derived fields)."""
    return replace(field, createable=False, updateable=False, **kw)


def system_fields() -> tuple[Field, ...]:
    """Fields every object carries; the emulator sets them, clients may not."""
    return (
        Field(
            "Id",
            "Record ID",
            "id",
            length=18,
            nillable=False,
            createable=False,
            updateable=False,
            defaulted_on_create=True,
            id_lookup=True,
        ),
        read_only(boolean("IsDeleted", "Deleted")),
        read_only(
            datetime_("CreatedDate", "Created Date", nillable=False, defaulted_on_create=True)
        ),
        read_only(
            reference(
                "CreatedById", "Created By ID", "User", nillable=False, defaulted_on_create=True
            )
        ),
        read_only(
            datetime_(
                "LastModifiedDate", "Last Modified Date", nillable=False, defaulted_on_create=True
            )
        ),
        read_only(
            reference(
                "LastModifiedById",
                "Last Modified By ID",
                "User",
                nillable=False,
                defaulted_on_create=True,
            )
        ),
        read_only(
            datetime_("SystemModstamp", "System Modstamp", nillable=False, defaulted_on_create=True)
        ),
    )


def owner() -> Field:
    return reference("OwnerId", "Owner ID", "User", nillable=False, defaulted_on_create=True)

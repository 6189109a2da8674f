"""What a provider says about one of its objects and its fields (for the object metadata API)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ValueType = Literal[
    "string",
    "boolean",
    "singleSelect",
    "multiSelect",
    "date",
    "datetime",
    "int",
    "float",
    "reference",
    "other",
]


@dataclass(frozen=True)
class FieldValue:
    value: str
    display_value: str


@dataclass(frozen=True)
class FieldInfo:
    name: str
    display_name: str
    value_type: ValueType
    provider_type: str
    read_only: bool
    is_custom: bool
    is_required: bool
    reference_to: tuple[str, ...] = ()
    values: tuple[FieldValue, ...] | None = None  # a picklist's choices


@dataclass(frozen=True)
class ObjectInfo:
    name: str  # the provider's object name
    display_name: str
    fields: tuple[FieldInfo, ...]


class UnknownObject(LookupError):
    """The provider has no object of that name (for this customer)."""

    def __init__(self, provider: str, object_name: str, message: str) -> None:
        super().__init__(message)
        self.provider = provider
        self.object_name = object_name
        self.message = message

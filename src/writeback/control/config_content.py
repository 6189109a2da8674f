"""Installation config content (config.yaml `ConfigContent`): its typed model and validation
against the integration's manifest.

Strict types: a default of `"5"` for `integerValue` is an error, not a silent conversion.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldSettingDefault(_Strict):
    stringValue: StrictStr | None = None
    integerValue: StrictInt | None = None
    booleanValue: StrictBool | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> FieldSettingDefault:
        count = sum(v is not None for v in (self.stringValue, self.integerValue, self.booleanValue))
        if count != 1:
            raise ValueError("set exactly one of stringValue, integerValue, booleanValue")
        return self

    @property
    def value(self) -> str | int | bool:
        for candidate in (self.stringValue, self.integerValue, self.booleanValue):
            if candidate is not None:
                return candidate
        raise AssertionError("validated to hold one value")


class FieldSetting(_Strict):
    default: FieldSettingDefault | None = None
    writeOnCreate: Literal["always", "never"] = "always"
    writeOnUpdate: Literal["always", "never", "ifEmpty"] = "always"


class DeletionSettings(_Strict):
    enabled: StrictBool


class LegacyValueDefault(_Strict):
    value: StrictStr | StrictInt | StrictBool
    applyOnUpdate: Literal["always", "never"] = "always"


class WriteConfigObject(_Strict):
    objectName: StrictStr
    deletionSettings: DeletionSettings | None = None
    selectedFieldSettings: dict[str, FieldSetting] = Field(default_factory=dict)
    selectedValueDefaults: dict[str, LegacyValueDefault] = Field(default_factory=dict)
    inheritMapping: StrictBool | None = None  # the docs put it here too; the manifest wins
    # writeback extension: fields (as the app names them) that identify a created record, so
    # a create whose answer was lost can be found in the CRM instead of sent again
    reconcileFields: list[StrictStr] | None = Field(default=None, min_length=1, max_length=5)

    @property
    def deletion_enabled(self) -> bool:
        return bool(self.deletionSettings and self.deletionSettings.enabled)


class ReadConfigObject(_Strict):
    objectName: StrictStr
    schedule: StrictStr | None = None
    disabled: StrictBool | None = None
    destination: StrictStr | None = None
    selectedFields: dict[str, StrictBool] = Field(default_factory=dict)
    selectedFieldMappings: dict[str, StrictStr] = Field(default_factory=dict)
    selectedFieldsAuto: Literal["all"] | None = None
    selectedValueMappings: dict[str, dict[str, StrictStr]] = Field(default_factory=dict)
    dynamicMappingsInput: list[dict[str, Any]] | None = None
    backfill: dict[str, Any] | None = None
    fieldFilters: list[dict[str, Any]] | None = None


T = TypeVar("T")


class ObjectsOf(_Strict, Generic[T]):
    objects: dict[str, T] = Field(default_factory=dict)


class ProxyConfig(_Strict):
    enabled: StrictBool


class ConfigContent(_Strict):
    provider: StrictStr | None = None
    read: ObjectsOf[ReadConfigObject] | None = None
    write: ObjectsOf[WriteConfigObject] | None = None
    subscribe: ObjectsOf[dict[str, Any]] | None = None
    proxy: ProxyConfig | None = None


class ConfigIssue(ValueError):
    """One problem in a config, located by a dotted path such as
    `config.content.write.objects.contact.selectedFieldSettings.source.writeOnUpdate`."""

    def __init__(self, path: str, message: str, value: Any = None) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
        self.value = value


def _dotted(prefix: str, loc: tuple[Any, ...]) -> str:
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def parse_content(
    raw: Any, prefix: str = "config.content"
) -> tuple[ConfigContent, list[ConfigIssue]]:
    """Validate a raw content dict; returns the model (or an empty one) and every issue found."""
    if not isinstance(raw, dict):
        return ConfigContent(), [ConfigIssue(prefix, "must be an object", None)]
    try:
        return ConfigContent.model_validate(raw), []
    except ValidationError as exc:
        issues = []
        for error in exc.errors():
            message = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
            issues.append(ConfigIssue(_dotted(prefix, tuple(error["loc"])), message))
        return ConfigContent(), issues


def check_against_manifest(
    content: ConfigContent,
    *,
    provider: str,
    integration_name: str,
    read_objects: list[str],
    write_objects: list[str],
    subscribe_objects: list[str],
    prefix: str = "config.content",
) -> list[ConfigIssue]:
    """Objects named in the config must be declared by the integration's manifest."""
    issues: list[ConfigIssue] = []
    if content.provider is not None and content.provider != provider:
        issues.append(
            ConfigIssue(
                f"{prefix}.provider",
                f"is {content.provider!r} but integration {integration_name!r} uses {provider!r}",
                content.provider,
            )
        )
    sections: list[tuple[str, Any, list[str]]] = [
        ("read", content.read, read_objects),
        ("write", content.write, write_objects),
        ("subscribe", content.subscribe, subscribe_objects),
    ]
    for action, section, declared in sections:
        if section is None:
            continue
        for key, obj in section.objects.items():
            path = f"{prefix}.{action}.objects.{key}"
            name = obj.get("objectName") if isinstance(obj, dict) else obj.objectName
            if name is not None and name != key:
                issues.append(
                    ConfigIssue(f"{path}.objectName", f"is {name!r} but its key is {key!r}", name)
                )
            if key not in declared:
                listed = ", ".join(declared) or "none"
                issues.append(
                    ConfigIssue(
                        path,
                        f"{key!r} is not a {action} object of integration {integration_name!r}"
                        f" (its {action} objects: {listed})",
                        key,
                    )
                )
    return issues

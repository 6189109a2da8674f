"""The amp.yaml schema (Ampersand manifest.yaml, spec version 1.0.0) with its rules attached."""

from __future__ import annotations

import re

from writeback.manifest.field_rules import check_field_entry, check_field_path
from writeback.manifest.integration_rules import (
    check_integration,
    check_spec_version,
    check_unique_integration_names,
)
from writeback.manifest.object_rules import (
    READ_MIN_INTERVAL_MINUTES,
    WATCH_SCHEMA_MIN_INTERVAL_MINUTES,
    check_default_period,
    check_delivery,
    check_no_duplicate_objects,
    check_read_object,
    check_subscribe_object,
    check_update_event,
    check_watch_field,
    schedule_check,
)
from writeback.manifest.specs import Bool, Int, ListOf, Obj, Str

NAME_MAX = 64
DISPLAY_NAME_MAX = 100

_NAME = Str(
    non_empty=True,
    max_len=NAME_MAX,
    pattern=re.compile(r"[a-z0-9_-]+"),
    pattern_help='must contain only lowercase letters, digits, "-" and "_"',
)
_TEXT = Str()
_IDENT = Str(non_empty=True)
_FIELD_PATH = Str(non_empty=True, check=check_field_path)
_ALWAYS = Str(enum=("always",))

FIELD = Obj(
    {
        "fieldName": _FIELD_PATH,
        "mapToName": _FIELD_PATH,
        "mapToDisplayName": _TEXT,
        "prompt": _TEXT,
        "default": _TEXT,
    },
    check=check_field_entry,
)

BACKFILL = Obj(
    {
        "defaultPeriod": Obj(
            {"days": Int(minimum=0), "fullHistory": Bool()}, check=check_default_period
        ),
    },
    required=("defaultPeriod",),
)

DELIVERY = Obj(
    {
        "mode": Str(enum=("auto", "onRequest")),
        "pageSize": Int(minimum=50, maximum=500),
    },
    check=check_delivery,
)

READ_OBJECT = Obj(
    {
        "objectName": _IDENT,
        "destination": _IDENT,
        "schedule": Str(non_empty=True, check=schedule_check(READ_MIN_INTERVAL_MINUTES)),
        "mapToName": _IDENT,
        "mapToDisplayName": _TEXT,
        "requiredFields": ListOf(FIELD),
        "optionalFields": ListOf(FIELD),
        "optionalFieldsAuto": Str(enum=("all",)),
        "backfill": BACKFILL,
        "delivery": DELIVERY,
        "enabled": _ALWAYS,
    },
    required=("objectName", "destination", "schedule"),
    check=check_read_object,
)

WRITE_OBJECT = Obj(
    {
        "objectName": _IDENT,
        "inheritMapping": Bool(),
        "valueDefaults": Obj({"allowAnyFields": Bool()}),
    },
    required=("objectName",),
    hint="each write object is a mapping such as {objectName: contact}",
)

_EVENT = Obj({"enabled": _ALWAYS})

SUBSCRIBE_OBJECT = Obj(
    {
        "objectName": _IDENT,
        "destination": _IDENT,
        "inheritFieldsAndMapping": Bool(),
        "createEvent": _EVENT,
        "updateEvent": Obj(
            {
                "enabled": _ALWAYS,
                "watchFieldsAuto": Str(enum=("all", "selected")),
                "requiredWatchFields": ListOf(
                    Str(non_empty=True, check=check_watch_field), non_empty=True
                ),
            },
            check=check_update_event,
        ),
        "deleteEvent": _EVENT,
        "associationChangeEvent": Obj({"enabled": _ALWAYS, "includeFullRecords": Bool()}),
        "otherEvents": ListOf(_IDENT),
    },
    required=("objectName", "destination"),
    check=check_subscribe_object,
)


def _objects_section(item: Obj) -> Obj:
    return Obj(
        {"objects": ListOf(item, non_empty=True, check=check_no_duplicate_objects)},
        required=("objects",),
    )


_WATCH_EVENT = Obj({"enabled": _ALWAYS}, required=("enabled",))

WATCH_SCHEMA = Obj(
    {
        "destination": _IDENT,
        "schedule": Str(non_empty=True, check=schedule_check(WATCH_SCHEMA_MIN_INTERVAL_MINUTES)),
        "allObjects": Obj(
            {
                "fieldCreated": _WATCH_EVENT,
                "fieldDeleted": _WATCH_EVENT,
                "fieldChanged": _WATCH_EVENT,
            }
        ),
    },
    required=("destination", "allObjects"),
)

INTEGRATION = Obj(
    {
        "name": _NAME,
        "displayName": Str(max_len=DISPLAY_NAME_MAX),
        "provider": _IDENT,
        "module": _IDENT,
        "read": _objects_section(READ_OBJECT),
        "write": _objects_section(WRITE_OBJECT),
        "proxy": Obj({"enabled": Bool(), "useModule": Bool()}),
        "subscribe": _objects_section(SUBSCRIBE_OBJECT),
        "watchSchema": WATCH_SCHEMA,
    },
    required=("name", "provider"),
    check=check_integration,
)

MANIFEST = Obj(
    {
        "specVersion": Str(check=check_spec_version, hint="use specVersion: 1.0.0"),
        "integrations": ListOf(INTEGRATION, non_empty=True, check=check_unique_integration_names),
    },
    required=("specVersion", "integrations"),
    hint="an amp.yaml holds specVersion and integrations",
)

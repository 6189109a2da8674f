"""Describe (§A7): global describe, sObject basic info, full describe.

Keys follow a real Account describe. Bodies only depend on the schema and the API version,
so they are serialised once per (object, version).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import orjson

from writeback.sandbox.http import Response
from writeback.sandbox.salesforce.fields import Field
from writeback.sandbox.salesforce.pipeline import Call
from writeback.sandbox.salesforce.schema import SCHEMA, SObject

MASTER_RECORD_TYPE = "012000000000000AAA"
MERGEABLE = frozenset({"Account", "Contact", "Lead"})
LONG_TEXT = 255  # textareas longer than this can't be filtered, grouped or sorted


def _urls(sobject: SObject, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{sobject.name}"
    return {
        "compactLayouts": f"{base}/describe/compactLayouts",
        "rowTemplate": f"{base}/{{ID}}",
        "approvalLayouts": f"{base}/describe/approvalLayouts",
        "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
        "listviews": f"{base}/listviews",
        "describe": f"{base}/describe",
        "quickActions": f"{base}/quickActions",
        "layouts": f"{base}/describe/layouts",
        "sobject": base,
    }


def object_summary(sobject: SObject, version: str) -> dict[str, Any]:
    """One entry of global describe, and the objectDescribe of basic info."""
    return {
        "activateable": False,
        "associateEntityType": None,
        "associateParentEntity": None,
        "createable": True,
        "custom": sobject.custom,
        "customSetting": False,
        "deepCloneable": False,
        "deletable": True,
        "deprecatedAndHidden": False,
        "feedEnabled": not sobject.custom,
        "hasSubtypes": False,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": sobject.key_prefix,
        "label": sobject.label,
        "labelPlural": sobject.label_plural,
        "layoutable": True,
        "mergeable": sobject.name in MERGEABLE,
        "mruEnabled": True,
        "name": sobject.name,
        "queryable": True,
        "replicateable": True,
        "retrieveable": True,
        "searchable": True,
        "triggerable": True,
        "undeletable": True,
        "updateable": True,
        "urls": _urls(sobject, version),
    }


def _byte_length(field: Field) -> int:
    if field.type in ("id", "reference"):
        return 18
    if field.type in ("string", "textarea", "email", "phone", "url", "picklist"):
        return field.length * 3
    return 0


def field_describe(field: Field) -> dict[str, Any]:
    long_text = field.type == "textarea" and field.length > LONG_TEXT
    compound = field.type == "address"
    default = field.default_value if field.type == "boolean" else None
    return {
        "aggregatable": not long_text and not compound and field.type != "boolean",
        "aiPredictionField": False,
        "autoNumber": False,
        "byteLength": _byte_length(field),
        "calculated": False,
        "calculatedFormula": None,
        "cascadeDelete": False,
        "caseSensitive": field.case_sensitive,
        "compoundFieldName": field.compound_field_name,
        "controllerName": None,
        "createable": field.createable,
        "custom": field.custom,
        "defaultValue": default,
        "defaultValueFormula": None,
        "defaultedOnCreate": field.defaulted_on_create,
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": field.digits,
        "displayLocationInDecimal": False,
        "encrypted": False,
        "externalId": field.external_id,
        "extraTypeInfo": field.extra_type_info,
        "filterable": not long_text and not compound,
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": not long_text
        and not compound
        and field.type not in ("double", "currency", "percent", "datetime"),
        "highScaleNumber": False,
        "htmlFormatted": field.html_formatted,
        "idLookup": field.id_lookup,
        "inlineHelpText": None,
        "label": field.label,
        "length": field.length,
        "mask": None,
        "maskType": None,
        "name": field.name,
        "nameField": field.name_field,
        "namePointing": False,
        "nillable": field.nillable,
        "permissionable": field.nillable and field.createable and field.type != "id",
        "picklistValues": [
            {
                "active": True,
                "defaultValue": value == field.default_value,
                "label": value,
                "validFor": None,
                "value": value,
            }
            for value in field.picklist
        ],
        "polymorphicForeignKey": False,
        "precision": field.precision,
        "queryByDistance": False,
        "referenceTargetField": None,
        "referenceTo": list(field.reference_to),
        "relationshipName": field.relationship_name,
        "relationshipOrder": None,
        "restrictedDelete": False,
        "restrictedPicklist": field.restricted,
        "scale": field.scale,
        "searchPrefilterable": field.type == "reference",
        "soapType": field.soap_type,
        "sortable": not long_text and not compound,
        "type": field.type,
        "unique": field.unique,
        "updateable": field.updateable,
        "writeRequiresMasterRead": False,
    }


def _child_relationships(sobject: SObject) -> list[dict[str, Any]]:
    return [
        {
            "cascadeDelete": False,
            "childSObject": child.name,
            "deprecatedAndHidden": False,
            "field": field.name,
            "junctionIdListNames": [],
            "junctionReferenceTo": [],
            "relationshipName": field.child_relationship,
            "restrictedDelete": False,
        }
        for child, field in SCHEMA.children[sobject.name]
    ]


def full_describe(sobject: SObject, version: str) -> dict[str, Any]:
    summary = object_summary(sobject, version)
    plural = sobject.label_plural.lower()
    return {
        **summary,
        "actionOverrides": [],
        "childRelationships": _child_relationships(sobject),
        "compactLayoutable": True,
        "defaultImplementation": None,
        "extendedBy": None,
        "extendsInterfaces": None,
        "fields": [field_describe(f) for f in sobject.fields],
        "implementedBy": None,
        "implementsInterfaces": None,
        "listviewable": None,
        "lookupLayoutable": None,
        "namedLayoutInfos": [],
        "networkScopeFieldName": None,
        "recordTypeInfos": [
            {
                "active": True,
                "available": True,
                "defaultRecordTypeMapping": True,
                "developerName": "Master",
                "master": True,
                "name": "Master",
                "recordTypeId": MASTER_RECORD_TYPE,
                "urls": {"layout": f"{summary['urls']['layouts']}/{MASTER_RECORD_TYPE}"},
            }
        ],
        "searchLayoutable": True,
        "sobjectDescribeOption": "FULL",
        "supportedScopes": [
            {"label": f"All {plural}", "name": "everything"},
            {"label": f"My {plural}", "name": "mine"},
        ],
    }


@lru_cache(maxsize=512)
def _global_body(version: str) -> bytes:
    return orjson.dumps(
        {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [object_summary(o, version) for o in SCHEMA.objects],
        }
    )


@lru_cache(maxsize=512)
def _basic_body(name: str, version: str) -> bytes:
    sobject = SCHEMA.by_lower[name]
    return orjson.dumps({"objectDescribe": object_summary(sobject, version), "recentItems": []})


@lru_cache(maxsize=512)
def _full_body(name: str, version: str) -> bytes:
    return orjson.dumps(full_describe(SCHEMA.by_lower[name], version))


def describe_global(call: Call) -> Response:
    return Response(200, _global_body(call.version))


def basic_info(call: Call) -> Response:
    sobject = call.sobject(call.params["object"])
    return Response(200, _basic_body(sobject.name.lower(), call.version))


def describe(call: Call) -> Response:
    sobject = call.sobject(call.params["object"])
    return Response(200, _full_body(sobject.name.lower(), call.version))

"""The DUPLICATES_DETECTED error of a standard duplicate rule, shaped like a real capture."""

from __future__ import annotations

from typing import Any

from writeback.sandbox.salesforce.errors import Problem, SfError
from writeback.sandbox.salesforce.schema import SObject

MESSAGE = "You're creating a duplicate record. We recommend you use an existing record instead."
MATCH_RULES = {
    "Contact": "Standard_Contact_Match_Rule_v1_1",
    "Lead": "Standard_Lead_Match_Rule_v1_0",
}


def duplicates_detected(
    sobject: SObject, matches: list[str], version: str, allow_save: bool
) -> SfError:
    name = sobject.name
    match_records: list[dict[str, Any]] = [
        {
            "additionalInformation": [],
            "fieldDiffs": [],
            "matchConfidence": 100.0,
            "record": {
                "attributes": {
                    "type": name,
                    "url": f"/services/data/v{version}/sobjects/{name}/{record_id}",
                },
                "Id": record_id,
            },
        }
        for record_id in matches
    ]
    result = {
        "allowSave": allow_save,
        "duplicateRule": f"Standard_{name}_Duplicate_Rule",
        "duplicateRuleEntityType": name,
        "errorMessage": MESSAGE,
        "matchResults": [
            {
                "entityType": name,
                "errors": [],
                "matchEngine": "FuzzyMatchEngine",
                "matchRecords": match_records,
                "rule": MATCH_RULES.get(name, f"Standard_{name}_Match_Rule"),
                "size": len(match_records),
                "success": True,
            }
        ],
    }
    return SfError(400, Problem("DUPLICATES_DETECTED", MESSAGE, extra={"duplicateResult": result}))

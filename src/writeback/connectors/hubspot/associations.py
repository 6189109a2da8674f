"""HubSpot association type ids → the object types they connect (HUBSPOT_DEFINED)."""

from __future__ import annotations

# from object type, to object type — providers.md §B5 (direction matters)
HUBSPOT_DEFINED: dict[int, tuple[str, str]] = {
    1: ("contacts", "companies"),
    2: ("companies", "contacts"),
    3: ("deals", "contacts"),
    4: ("contacts", "deals"),
    5: ("deals", "companies"),
    6: ("companies", "deals"),
    13: ("companies", "companies"),
    14: ("companies", "companies"),
    15: ("contacts", "tickets"),
    16: ("tickets", "contacts"),
    25: ("companies", "tickets"),
    26: ("tickets", "companies"),
    27: ("deals", "tickets"),
    28: ("tickets", "deals"),
    279: ("contacts", "companies"),
    280: ("companies", "contacts"),
    339: ("tickets", "companies"),
    340: ("companies", "tickets"),
    341: ("deals", "companies"),
    342: ("companies", "deals"),
    449: ("contacts", "contacts"),
    450: ("companies", "companies"),
    451: ("deals", "deals"),
    452: ("tickets", "tickets"),
}


def target_type(association: dict[str, object]) -> str | None:
    """The object type an association's first HUBSPOT_DEFINED type points to, if known."""
    types = association.get("types")
    if not isinstance(types, list):
        return None
    for spec in types:
        if isinstance(spec, dict) and spec.get("associationCategory") == "HUBSPOT_DEFINED":
            pair = HUBSPOT_DEFINED.get(_int(spec.get("associationTypeId")))
            if pair:
                return pair[1]
    return None


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return -1

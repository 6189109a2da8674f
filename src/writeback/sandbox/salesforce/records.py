"""Records as the REST API returns them: attributes first, every field, canonical names."""

from __future__ import annotations

from typing import Any

from writeback.sandbox.salesforce.schema import ADDRESS_KEYS, SObject


def record_url(sobject: SObject, record_id: str, version: str) -> str:
    return f"/services/data/v{version}/sobjects/{sobject.name}/{record_id}"


def _address(record: dict[str, Any], components: tuple[str, ...]) -> dict[str, Any] | None:
    parts = dict(zip(ADDRESS_KEYS, (record.get(name) for name in components), strict=True))
    if all(value is None for value in parts.values()):
        return None
    # The real compound value lists its keys alphabetically, geocode fields included.
    return {
        "city": parts["city"],
        "country": parts["country"],
        "geocodeAccuracy": None,
        "latitude": None,
        "longitude": None,
        "postalCode": parts["postalCode"],
        "state": parts["state"],
        "street": parts["street"],
    }


def render(
    sobject: SObject, record: dict[str, Any], version: str, only: list[str] | None = None
) -> dict[str, Any]:
    """The GET body of a record; `only` (canonical names) limits it to those fields."""
    out: dict[str, Any] = {
        "attributes": {"type": sobject.name, "url": record_url(sobject, record["Id"], version)}
    }
    fields = sobject.fields if only is None else [sobject.by_lower[n.lower()] for n in only]
    for field in fields:
        if field.type == "address":
            out[field.name] = _address(record, field.components)
        else:
            out[field.name] = record.get(field.name)
    return out

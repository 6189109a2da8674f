"""Properties HubSpot sets itself: timestamps, ids, sources, and values derived from others."""

from __future__ import annotations

import time

from writeback.sandbox.hubspot.schema import ObjectType

_CLOSED_STAGES = frozenset(("closedwon", "closedlost"))


def now_iso() -> str:
    now = time.time()
    seconds = int(now)
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        + f".{int((now - seconds) * 1000):03d}Z"
    )


def stamp_new(
    object_type: ObjectType, props: dict[str, str], record_id: str, now: str, app_id: int
) -> None:
    props[object_type.created_prop] = now
    props[object_type.modified_prop] = now
    props["hs_object_id"] = record_id
    if object_type.custom:
        return
    props["hs_object_source"] = "INTEGRATION"
    props["hs_object_source_id"] = str(app_id)
    props["hs_object_source_label"] = "INTEGRATION"
    type_id = object_type.type_id
    if type_id == "0-1":
        props.setdefault("lifecyclestage", "lead")
        props["hs_pipeline"] = "contacts-lifecycle-pipeline"
        props["hs_is_unworked"] = "true"
    elif type_id == "0-2":
        props["hs_pipeline"] = "companies-lifecycle-pipeline"
    elif type_id == "0-3":
        props.setdefault("pipeline", "default")
    elif type_id == "0-5":
        props.setdefault("hs_pipeline", "0")
        props.setdefault("hs_pipeline_stage", "1")
    derive(object_type, props, props)


def derive(object_type: ObjectType, props: dict[str, str], changed: dict[str, str]) -> None:
    """Recompute the read-only properties that follow from the `changed` ones."""
    type_id = object_type.type_id
    if type_id == "0-1" and "email" in changed:
        email = props.get("email") or ""
        props["hs_email_domain"] = email.partition("@")[2]
    elif type_id == "0-3":
        if "dealstage" in changed:
            props["hs_is_closed"] = "true" if props.get("dealstage") in _CLOSED_STAGES else "false"
        if "amount" in changed:
            props["amount_in_home_currency"] = props.get("amount") or ""

"""Builds a portal's object types: the four standard CRM objects and one custom object."""

from __future__ import annotations

from writeback.sandbox.hubspot import standard_props
from writeback.sandbox.hubspot.schema import ObjectType, PropertyDef, TypeRegistry, Validator
from writeback.sandbox.hubspot.validation import compile_validator

CUSTOM_TYPE_ID = "2-1234567"
CUSTOM_NAME = "touchpoints"

# Standard definitions never change, so their validators are compiled once per process.
_COMPILED: dict[int, Validator] = {}


def _validator(definition: PropertyDef) -> Validator:
    key = id(definition)
    found = _COMPILED.get(key)
    if found is None:
        found = _COMPILED[key] = compile_validator(definition)
    return found


_STANDARD: dict[str, list[PropertyDef]] = {
    "0-1": standard_props.contact_properties(),
    "0-2": standard_props.company_properties(),
    "0-3": standard_props.deal_properties(),
    "0-5": standard_props.ticket_properties(),
    CUSTOM_TYPE_ID: standard_props.touchpoint_properties(),
}


def custom_fqn(hub_id: int) -> str:
    return f"p{hub_id}_{CUSTOM_NAME}"


def _types(hub_id: int) -> list[ObjectType]:
    return [
        ObjectType(
            "0-1",
            "contacts",
            "contact",
            "CONTACT",
            "Contact",
            "Contacts",
            "createdate",
            "lastmodifieddate",
            ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
            primary_display="firstname",
            secondary_display=("lastname", "email", "phone"),
            description="Any person who interacts with a HubSpot user's business.",
            schema_id="1",
        ),
        ObjectType(
            "0-2",
            "companies",
            "company",
            "COMPANY",
            "Company",
            "Companies",
            "createdate",
            "hs_lastmodifieddate",
            ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
            primary_display="name",
            secondary_display=("domain", "phone"),
            description="A business or organization.",
            schema_id="2",
        ),
        ObjectType(
            "0-3",
            "deals",
            "deal",
            "DEAL",
            "Deal",
            "Deals",
            "createdate",
            "hs_lastmodifieddate",
            (
                "amount",
                "closedate",
                "createdate",
                "dealname",
                "dealstage",
                "hs_lastmodifieddate",
                "hs_object_id",
                "pipeline",
            ),
            primary_display="dealname",
            secondary_display=("amount", "dealstage"),
            required=("dealname", "pipeline", "dealstage"),
            description="A transaction with a contact or a company.",
            schema_id="3",
        ),
        ObjectType(
            "0-5",
            "tickets",
            "ticket",
            "TICKET",
            "Ticket",
            "Tickets",
            "createdate",
            "hs_lastmodifieddate",
            (
                "content",
                "createdate",
                "hs_lastmodifieddate",
                "hs_object_id",
                "hs_pipeline",
                "hs_pipeline_stage",
                "hs_ticket_category",
                "hs_ticket_priority",
                "subject",
            ),
            primary_display="subject",
            secondary_display=("hs_pipeline_stage",),
            required=("subject", "hs_pipeline", "hs_pipeline_stage"),
            description="A customer request for help.",
            schema_id="5",
        ),
        ObjectType(
            CUSTOM_TYPE_ID,
            CUSTOM_NAME,
            "touchpoint",
            custom_fqn(hub_id),
            "Touchpoint",
            "Touchpoints",
            "hs_createdate",
            "hs_lastmodifieddate",
            ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
            primary_display="name",
            secondary_display=("channel", "touchpoint_key"),
            required=("name",),
            description="A customer touchpoint recorded by an integration.",
            custom=True,
            schema_id="1234567",
        ),
    ]


def build_registry(hub_id: int) -> TypeRegistry:
    types = _types(hub_id)
    for object_type in types:
        for definition in _STANDARD[object_type.type_id]:
            object_type.add_property(definition, _validator(definition))
    return TypeRegistry(types)

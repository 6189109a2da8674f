"""The seeded property definitions of each object type.

Names, types and groups follow HubSpot's defaults (a realistic subset); the few
`hubspot_defined=False` ones stand for properties a customer's portal typically has
(an integration's unique `external_id`, a bool, a date, a number, a picklist), so writes
can exercise every validator.
"""

from __future__ import annotations

from typing import Any

from writeback.sandbox.hubspot.schema import PropertyDef

# The portal's users; hubspot_owner_id only accepts these (its options come from owners).
OWNER_IDS = ("51234567", "51234568", "51234569")

LIFECYCLE = (
    ("subscriber", "Subscriber"),
    ("lead", "Lead"),
    ("marketingqualifiedlead", "Marketing Qualified Lead"),
    ("salesqualifiedlead", "Sales Qualified Lead"),
    ("opportunity", "Opportunity"),
    ("customer", "Customer"),
    ("evangelist", "Evangelist"),
    ("other", "Other"),
)
DEAL_STAGES = (
    ("appointmentscheduled", "Appointment Scheduled"),
    ("qualifiedtobuy", "Qualified To Buy"),
    ("presentationscheduled", "Presentation Scheduled"),
    ("decisionmakerboughtin", "Decision Maker Bought-In"),
    ("contractsent", "Contract Sent"),
    ("closedwon", "Closed Won"),
    ("closedlost", "Closed Lost"),
)


def _opts(*values: str) -> tuple[tuple[str, str], ...]:
    return tuple((v, v.replace("_", " ").title()) for v in values)


def prop(
    name: str, label: str, kind: str, field_type: str, group: str, **extra: Any
) -> PropertyDef:
    return PropertyDef(
        name=name, label=label, type=kind, field_type=field_type, group=group, **extra
    )


def _text(name: str, label: str, group: str, **extra: Any) -> PropertyDef:
    return prop(name, label, "string", "text", group, **extra)


def _system(name: str, label: str, kind: str, group: str, **extra: Any) -> PropertyDef:
    field_type = {"datetime": "date", "number": "number", "bool": "booleancheckbox"}.get(
        kind, "text"
    )
    return prop(name, label, kind, field_type, group, read_only=True, **extra)


def _owner(group: str) -> PropertyDef:
    return prop(
        "hubspot_owner_id",
        "Owner",
        "enumeration",
        "select",
        group,
        options=tuple((o, f"Owner {o}") for o in OWNER_IDS),
        external_options=True,
        referenced_object_type="OWNER",
    )


def _object_common(group: str, created: str, modified: str) -> list[PropertyDef]:
    return [
        _system(created, "Create Date", "datetime", group),
        _system(modified, "Last Modified Date", "datetime", group),
        _system("hs_object_id", "Record ID", "number", group),
        _system("hs_object_source", "Record source", "string", group),
        _system("hs_object_source_id", "Record source ID", "string", group),
        _system("hs_object_source_label", "Record source", "string", group),
    ]


def _external_id(group: str) -> PropertyDef:
    return _text(
        "external_id",
        "External ID",
        group,
        unique=True,
        hubspot_defined=False,
        description="The record's id in the integrating system.",
    )


def contact_properties() -> list[PropertyDef]:
    g = "contactinformation"
    return [
        *_object_common(g, "createdate", "lastmodifieddate"),
        _text("email", "Email", g, unique=True, email=True, display_order=3),
        _text("firstname", "First Name", g, display_order=1),
        _text("lastname", "Last Name", g, display_order=2),
        prop("phone", "Phone Number", "string", "phonenumber", g),
        prop("mobilephone", "Mobile Phone Number", "string", "phonenumber", g),
        _text("company", "Company Name", g),
        _text("website", "Website URL", g),
        _text("jobtitle", "Job Title", g),
        _text("address", "Street Address", g),
        _text("city", "City", g),
        _text("state", "State/Region", g),
        _text("zip", "Postal Code", g),
        _text("country", "Country/Region", g),
        _text("annualrevenue", "Annual Revenue", g),
        _text("date_of_birth", "Date of birth", "facebook_ads_properties"),
        prop("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", g, options=LIFECYCLE),
        prop(
            "hs_lead_status",
            "Lead Status",
            "enumeration",
            "radio",
            "sales_properties",
            options=_opts(
                "NEW",
                "OPEN",
                "IN_PROGRESS",
                "OPEN_DEAL",
                "UNQUALIFIED",
                "ATTEMPTED_TO_CONTACT",
                "CONNECTED",
                "BAD_TIMING",
            ),
        ),
        prop("closedate", "Close Date", "datetime", "date", "deal_information"),
        prop(
            "associatedcompanyid",
            "Primary Associated Company ID",
            "number",
            "number",
            g,
            referenced_object_type="COMPANY",
            hidden=True,
        ),
        _owner("sales_properties"),
        _system("hs_email_domain", "Email Domain", "string", g),
        _system("hs_pipeline", "Pipeline", "string", g),
        _system("hs_is_unworked", "Contact unworked", "bool", g),
        _system("hubspotscore", "HubSpot Score", "number", g),
        _system("num_associated_deals", "Associated Deals", "number", "deal_information"),
        _external_id(g),
        prop(
            "newsletter_opt_in",
            "Newsletter opt-in",
            "bool",
            "booleancheckbox",
            g,
            options=(("true", "Yes"), ("false", "No")),
            hubspot_defined=False,
        ),
        prop(
            "first_purchase_date", "First purchase date", "date", "date", g, hubspot_defined=False
        ),
        prop("loyalty_points", "Loyalty points", "number", "number", g, hubspot_defined=False),
        prop(
            "customer_tier",
            "Customer tier",
            "enumeration",
            "select",
            g,
            options=_opts("bronze", "silver", "gold"),
            hubspot_defined=False,
        ),
        prop(
            "interests",
            "Interests",
            "enumeration",
            "checkbox",
            g,
            options=_opts("crm", "marketing", "sales", "service"),
            hubspot_defined=False,
        ),
    ]


def company_properties() -> list[PropertyDef]:
    g = "companyinformation"
    return [
        *_object_common(g, "createdate", "hs_lastmodifieddate"),
        _text("name", "Company name", g, display_order=0),
        _text("domain", "Company Domain Name", g),
        _text("website", "Website URL", g),
        prop("phone", "Phone Number", "string", "phonenumber", g),
        _text("address", "Street Address", g),
        _text("city", "City", g),
        _text("state", "State/Region", g),
        _text("zip", "Postal Code", g),
        _text("country", "Country/Region", g),
        prop(
            "industry",
            "Industry",
            "enumeration",
            "select",
            g,
            options=_opts(
                "ACCOUNTING",
                "AIRLINES_AVIATION",
                "COMPUTER_SOFTWARE",
                "FINANCIAL_SERVICES",
                "HOSPITAL_HEALTH_CARE",
                "INFORMATION_TECHNOLOGY_AND_SERVICES",
                "MARKETING_AND_ADVERTISING",
                "RETAIL",
            ),
        ),
        prop("numberofemployees", "Number of Employees", "number", "number", g),
        prop("annualrevenue", "Annual Revenue", "number", "number", g),
        prop("description", "Description", "string", "textarea", g),
        prop(
            "type",
            "Type",
            "enumeration",
            "select",
            g,
            options=_opts("PROSPECT", "PARTNER", "RESELLER", "VENDOR", "OTHER"),
        ),
        prop("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", g, options=LIFECYCLE),
        _text("founded_year", "Year Founded", g),
        prop(
            "is_public",
            "Is Public",
            "bool",
            "booleancheckbox",
            g,
            options=(("true", "True"), ("false", "False")),
        ),
        _owner(g),
        _system("num_associated_contacts", "Number of Associated Contacts", "number", g),
        _system("hs_pipeline", "Pipeline", "string", g),
        _external_id(g),
    ]


def deal_properties() -> list[PropertyDef]:
    g = "dealinformation"
    return [
        *_object_common(g, "createdate", "hs_lastmodifieddate"),
        _text("dealname", "Deal Name", g, display_order=0),
        prop("amount", "Amount", "number", "number", g),
        prop(
            "dealstage",
            "Deal Stage",
            "enumeration",
            "radio",
            g,
            options=DEAL_STAGES,
            external_options=True,
        ),
        prop(
            "pipeline",
            "Pipeline",
            "enumeration",
            "select",
            g,
            options=(("default", "Sales Pipeline"),),
            external_options=True,
        ),
        prop("closedate", "Close Date", "datetime", "date", g),
        prop(
            "dealtype",
            "Deal Type",
            "enumeration",
            "radio",
            g,
            options=(("newbusiness", "New Business"), ("existingbusiness", "Existing Business")),
        ),
        prop("description", "Deal Description", "string", "textarea", g),
        prop(
            "hs_priority",
            "Priority",
            "enumeration",
            "select",
            g,
            options=(("low", "Low"), ("medium", "Medium"), ("high", "High")),
        ),
        _owner(g),
        _system("hs_is_closed", "Is Deal Closed?", "bool", g),
        _system("amount_in_home_currency", "Amount in company currency", "number", g),
        _system("days_to_close", "Days to close", "number", g, calculated=True),
        _external_id(g),
    ]


def ticket_properties() -> list[PropertyDef]:
    g = "ticketinformation"
    return [
        *_object_common(g, "createdate", "hs_lastmodifieddate"),
        _text("subject", "Ticket name", g, display_order=0),
        prop("content", "Ticket description", "string", "textarea", g),
        prop(
            "hs_pipeline",
            "Pipeline",
            "enumeration",
            "select",
            g,
            options=(("0", "Support Pipeline"),),
            external_options=True,
        ),
        prop(
            "hs_pipeline_stage",
            "Ticket status",
            "enumeration",
            "select",
            g,
            options=(
                ("1", "New"),
                ("2", "Waiting on contact"),
                ("3", "Waiting on us"),
                ("4", "Closed"),
            ),
            external_options=True,
        ),
        prop(
            "hs_ticket_priority",
            "Priority",
            "enumeration",
            "select",
            g,
            options=_opts("LOW", "MEDIUM", "HIGH", "URGENT"),
        ),
        prop(
            "hs_ticket_category",
            "Category",
            "enumeration",
            "checkbox",
            g,
            options=_opts("PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST", "GENERAL_INQUIRY"),
        ),
        prop(
            "source_type",
            "Source",
            "enumeration",
            "select",
            g,
            options=_opts("CHAT", "EMAIL", "FORM", "PHONE"),
        ),
        prop("closed_date", "Close date", "datetime", "date", g),
        _owner(g),
        _system("time_to_close", "Time to close", "number", g, calculated=True),
        _external_id(g),
    ]


def touchpoint_properties() -> list[PropertyDef]:
    g = "touchpoints_information"
    custom: dict[str, Any] = {"hubspot_defined": False}
    return [
        _system("hs_createdate", "Object create date/time", "datetime", g),
        _system("hs_lastmodifieddate", "Object last modified date/time", "datetime", g),
        _system("hs_object_id", "Record ID", "number", g),
        _text("name", "Name", g, **custom),
        _text("touchpoint_key", "Touchpoint key", g, unique=True, **custom),
        prop(
            "channel",
            "Channel",
            "enumeration",
            "select",
            g,
            options=_opts("email", "web", "phone", "event"),
            **custom,
        ),
        prop("occurred_at", "Occurred at", "datetime", "date", g, **custom),
        prop("touch_date", "Touch date", "date", "date", g, **custom),
        prop("score", "Score", "number", "number", g, **custom),
        prop(
            "is_qualified",
            "Qualified",
            "bool",
            "booleancheckbox",
            g,
            options=(("true", "Yes"), ("false", "No")),
            **custom,
        ),
        prop("notes", "Notes", "string", "textarea", g, **custom),
    ]

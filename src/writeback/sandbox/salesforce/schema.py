"""The emulated org's objects: Account, Contact, Lead, Opportunity and touchpoints__c.

Names are case-insensitive on the wire; everything here is keyed by the lower-case name and
answers with the canonical one.
"""

from __future__ import annotations

from collections.abc import Iterable

from writeback.sandbox.salesforce.fields import (
    Field,
    address,
    boolean,
    date,
    datetime_,
    email,
    integer,
    number,
    owner,
    phone,
    picklist,
    read_only,
    reference,
    system_fields,
    text,
    textarea,
    url,
)
from writeback.sandbox.salesforce.validation import Parser, build_parser

CUSTOM_OBJECT = "touchpoints__c"
CUSTOM_PREFIX = "a05"

INDUSTRIES = (
    "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
    "Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering",
    "Entertainment", "Environmental", "Finance", "Food & Beverage", "Government", "Healthcare",
    "Hospitality", "Insurance", "Machinery", "Manufacturing", "Media", "Not For Profit",
    "Recreation", "Retail", "Shipping", "Technology", "Telecommunications", "Transportation",
    "Utilities", "Other",
)  # fmt: skip
RATINGS = ("Hot", "Warm", "Cold")
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
SALUTATIONS = ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx.")
LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                 "Closed - Not Converted")  # fmt: skip
STAGES = (
    "Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
    "Perception Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won",
    "Closed Lost",
)  # fmt: skip
ADDRESS_KEYS = ("street", "city", "state", "postalCode", "country")


class SObject:
    def __init__(
        self,
        name: str,
        label: str,
        label_plural: str,
        key_prefix: str,
        fields: Iterable[Field],
        *,
        custom: bool = False,
    ) -> None:
        self.name = name
        self.label = label
        self.label_plural = label_plural
        self.key_prefix = key_prefix
        self.custom = custom
        self.fields: tuple[Field, ...] = tuple(fields)
        self.by_lower = {f.name.lower(): f for f in self.fields}
        self.required = tuple(f for f in self.fields if f.required_on_create)
        self.defaults = {
            f.name: f.default_value
            for f in self.fields
            if f.default_value is not None and f.name != "IsDeleted"
        }
        self.references = tuple(
            f for f in self.fields if f.type == "reference" and (f.createable or f.updateable)
        )
        self.not_nillable = tuple(
            f for f in self.fields if not f.nillable and f.updateable and f.type != "boolean"
        )
        self.has_owner = "ownerid" in self.by_lower
        self.unique = tuple(f for f in self.fields if f.unique)
        self.has_compound_name = any(f.compound_field_name == "Name" for f in self.fields)
        self.parsers: dict[str, Parser] = {}

    def field(self, name: str) -> Field | None:
        return self.by_lower.get(name.lower())


class Schema:
    def __init__(self, objects: Iterable[SObject]) -> None:
        self.objects = tuple(objects)
        self.by_lower = {o.name.lower(): o for o in self.objects}
        self.by_prefix = {o.key_prefix: o for o in self.objects}
        prefix_of = {o.name: o.key_prefix for o in self.objects} | {"User": "005"}
        for sobject in self.objects:
            for f in sobject.fields:
                parser = build_parser(f, prefix_of.get)
                if parser is not None:
                    sobject.parsers[f.name] = parser
        # childRelationships of describe: reference fields pointing at each object
        self.children: dict[str, list[tuple[SObject, Field]]] = {o.name: [] for o in self.objects}
        for sobject in self.objects:
            for f in sobject.fields:
                for target in f.reference_to:
                    if target in self.children:
                        self.children[target].append((sobject, f))

    def get(self, name: str) -> SObject | None:
        return self.by_lower.get(name.lower())

    def for_id(self, record_id: str) -> SObject | None:
        return self.by_prefix.get(record_id[:3])


def _address(prefix: str, compound: str, label: str) -> list[Field]:
    # Components carry the address's JSON key: street, city, state, postalCode, country.
    parts = [
        textarea(f"{prefix}Street", f"{label} Street".strip(), 255),
        text(f"{prefix}City", f"{label} City".strip(), 40),
        text(f"{prefix}State", f"{label} State/Province".strip(), 80),
        text(f"{prefix}PostalCode", f"{label} Zip/Postal Code".strip(), 20),
        text(f"{prefix}Country", f"{label} Country".strip(), 80),
    ]
    names = tuple(p.name for p in parts)
    return [*parts, address(compound, f"{label} Address".strip(), names)]


def _person_name() -> list[Field]:
    return [
        text("LastName", "Last Name", 80, nillable=False, compound_field_name="Name"),
        text("FirstName", "First Name", 40, compound_field_name="Name"),
        picklist("Salutation", "Salutation", SALUTATIONS, compound_field_name="Name"),
        read_only(
            text("Name", "Full Name", 121, name_field=True, nillable=False),
            extra_type_info="personname",
        ),
    ]


def account() -> SObject:
    return SObject(
        "Account",
        "Account",
        "Accounts",
        "001",
        [
            *system_fields(),
            read_only(reference("MasterRecordId", "Master Record ID", "Account", "MasterRecord")),
            text(
                "Name",
                "Account Name",
                255,
                nillable=False,
                name_field=True,
                extra_type_info="switchablepersonname",
            ),
            picklist(
                "Type",
                "Account Type",
                (
                    "Prospect",
                    "Customer - Direct",
                    "Customer - Channel",
                    "Channel Partner / Reseller",
                    "Installation Partner",
                    "Technology Partner",
                    "Other",
                ),
            ),
            reference("ParentId", "Parent Account ID", "Account", "Parent", "ChildAccounts"),
            *_address("Billing", "BillingAddress", "Billing"),
            phone("Phone", "Account Phone"),
            phone("Fax", "Account Fax"),
            url("Website", "Website"),
            text("AccountNumber", "Account Number", 40),
            text("Site", "Account Site", 80),
            picklist("Industry", "Industry", INDUSTRIES, restricted=True),
            number("AnnualRevenue", "Annual Revenue", 18, 0, kind="currency"),
            integer("NumberOfEmployees", "Employees", 8),
            picklist("Rating", "Account Rating", RATINGS),
            textarea("Description", "Account Description"),
            owner(),
            text(
                "External_Id__c",
                "External Id",
                255,
                external_id=True,
                id_lookup=True,
            ),
            number("Health_Score__c", "Health Score", 5, 2, kind="percent"),
        ],
    )


def contact() -> SObject:
    return SObject(
        "Contact",
        "Contact",
        "Contacts",
        "003",
        [
            *system_fields(),
            read_only(reference("MasterRecordId", "Master Record ID", "Contact", "MasterRecord")),
            reference("AccountId", "Account ID", "Account", "Account", "Contacts"),
            *_person_name(),
            *_address("Mailing", "MailingAddress", "Mailing"),
            phone("Phone", "Business Phone"),
            phone("MobilePhone", "Mobile Phone"),
            email("Email", "Email", id_lookup=True),
            text("Title", "Title", 128),
            text("Department", "Department", 80),
            date("Birthdate", "Birthdate"),
            picklist("LeadSource", "Lead Source", LEAD_SOURCES),
            boolean("HasOptedOutOfEmail", "Email Opt Out"),
            boolean("DoNotCall", "Do Not Call"),
            textarea("Description", "Contact Description"),
            owner(),
        ],
    )


def lead() -> SObject:
    return SObject(
        "Lead",
        "Lead",
        "Leads",
        "00Q",
        [
            *system_fields(),
            read_only(reference("MasterRecordId", "Master Record ID", "Lead", "MasterRecord")),
            *_person_name(),
            text("Title", "Title", 128),
            text("Company", "Company", 255, nillable=False),
            *_address("", "Address", ""),
            phone("Phone", "Phone"),
            phone("MobilePhone", "Mobile Phone"),
            email("Email", "Email", id_lookup=True),
            url("Website", "Website"),
            textarea("Description", "Description"),
            picklist("LeadSource", "Lead Source", LEAD_SOURCES),
            picklist(
                "Status",
                "Status",
                LEAD_STATUSES,
                restricted=True,
                nillable=False,
                defaulted_on_create=True,
                default_value="Open - Not Contacted",
            ),
            picklist("Industry", "Industry", INDUSTRIES),
            picklist("Rating", "Rating", RATINGS),
            number("AnnualRevenue", "Annual Revenue", 18, 0, kind="currency"),
            integer("NumberOfEmployees", "Employees", 8),
            boolean("HasOptedOutOfEmail", "Email Opt Out"),
            read_only(boolean("IsConverted", "Converted")),
            owner(),
        ],
    )


def opportunity() -> SObject:
    return SObject(
        "Opportunity",
        "Opportunity",
        "Opportunities",
        "006",
        [
            *system_fields(),
            reference("AccountId", "Account ID", "Account", "Account", "Opportunities"),
            text("Name", "Name", 120, nillable=False, name_field=True),
            textarea("Description", "Description"),
            picklist("StageName", "Stage", STAGES, restricted=True, nillable=False),
            number("Amount", "Amount", 18, 2, kind="currency"),
            number("Probability", "Probability (%)", 3, 0, kind="percent"),
            date("CloseDate", "Close Date", nillable=False),
            picklist(
                "Type",
                "Opportunity Type",
                (
                    "Existing Customer - Upgrade",
                    "Existing Customer - Replacement",
                    "Existing Customer - Downgrade",
                    "New Customer",
                ),
            ),
            text("NextStep", "Next Step", 255),
            picklist("LeadSource", "Lead Source", LEAD_SOURCES),
            read_only(boolean("IsClosed", "Closed")),
            read_only(boolean("IsWon", "Won")),
            owner(),
        ],
    )


def touchpoints() -> SObject:
    return SObject(
        CUSTOM_OBJECT,
        "Touchpoint",
        "Touchpoints",
        CUSTOM_PREFIX,
        [
            *system_fields(),
            # A custom object's text Name: left empty, Salesforce fills it with the record id.
            text("Name", "Touchpoint Name", 80, name_field=True, defaulted_on_create=True),
            picklist(
                "Channel__c",
                "Channel",
                ("Email", "Web", "Phone", "Event", "Social", "Ads"),
                restricted=True,
            ),
            reference("Contact__c", "Contact", "Contact", children="Touchpoints__r"),
            reference("Account__c", "Account", "Account", children="Touchpoints__r"),
            datetime_("Occurred_At__c", "Occurred At"),
            number("Score__c", "Score", 18, 2),
            text(
                "External_Id__c",
                "External Id",
                255,
                external_id=True,
                unique=True,
                id_lookup=True,
            ),
            text("Campaign_Code__c", "Campaign Code", 20),
            url("Source_Url__c", "Source URL"),
            boolean("Converted__c", "Converted"),
            textarea("Notes__c", "Notes", 32768),
            owner(),
        ],
        custom=True,
    )


SCHEMA = Schema([account(), contact(), lead(), opportunity(), touchpoints()])

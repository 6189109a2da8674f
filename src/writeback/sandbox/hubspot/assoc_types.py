"""Association types between the emulated objects, with HubSpot's real type ids.

Each type has an inverse: associating A→B with 279 (contact→company, unlabeled) also
associates B→A with 280. Labelled types always bring the pair's unlabeled type along, as in
HubSpot. Ids of the custom object's types are portal-specific in HubSpot; ours are fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

CONTACT, COMPANY, DEAL, TICKET = "0-1", "0-2", "0-3", "0-5"
HUBSPOT_DEFINED, USER_DEFINED = "HUBSPOT_DEFINED", "USER_DEFINED"
CATEGORIES = (HUBSPOT_DEFINED, USER_DEFINED, "INTEGRATOR_DEFINED")


@dataclass(frozen=True, slots=True)
class AssocType:
    id: int
    category: str
    from_type: str
    to_type: str
    name: str  # CONTACT_TO_COMPANY_UNLABELED
    label: str | None  # None for unlabeled types
    inverse: int
    single: bool = False  # at most one target per source record (the "Primary" types)

    @property
    def v3_name(self) -> str:
        """The `type` string of v3 `associations` results: contact_to_company_unlabeled."""
        return self.name.lower()


def _pair(
    forward: tuple[int, str, str, str, str | None],
    backward: tuple[int, str | None],
    category: str = HUBSPOT_DEFINED,
    single: tuple[bool, bool] = (False, False),
) -> list[AssocType]:
    fid, from_type, to_type, name, label = forward
    bid, back_label = backward
    back_name = "_TO_".join(reversed(name.removesuffix("_UNLABELED").split("_TO_")))
    if name.endswith("_UNLABELED"):
        back_name += "_UNLABELED"
    return [
        AssocType(fid, category, from_type, to_type, name, label, bid, single[0]),
        AssocType(bid, category, to_type, from_type, back_name, back_label, fid, single[1]),
    ]


def _self(type_id: int, object_type: str, upper: str) -> AssocType:
    return AssocType(
        type_id, HUBSPOT_DEFINED, object_type, object_type, f"{upper}_TO_{upper}", None, type_id
    )


def build_types(custom_type: str, custom_upper: str) -> list[AssocType]:
    types = [
        *_pair((279, CONTACT, COMPANY, "CONTACT_TO_COMPANY_UNLABELED", None), (280, None)),
        *_pair(
            (1, CONTACT, COMPANY, "CONTACT_TO_COMPANY", "Primary"),
            (2, "Primary"),
            single=(True, False),
        ),
        *_pair((4, CONTACT, DEAL, "CONTACT_TO_DEAL", None), (3, None)),
        *_pair((15, CONTACT, TICKET, "CONTACT_TO_TICKET", None), (16, None)),
        *_pair((341, DEAL, COMPANY, "DEAL_TO_COMPANY_UNLABELED", None), (342, None)),
        *_pair(
            (5, DEAL, COMPANY, "DEAL_TO_COMPANY", "Primary"), (6, "Primary"), single=(True, False)
        ),
        *_pair((339, TICKET, COMPANY, "TICKET_TO_COMPANY_UNLABELED", None), (340, None)),
        *_pair(
            (26, TICKET, COMPANY, "TICKET_TO_COMPANY", "Primary"),
            (25, "Primary"),
            single=(True, False),
        ),
        *_pair((27, DEAL, TICKET, "DEAL_TO_TICKET", None), (28, None)),
        *_pair(
            (13, COMPANY, COMPANY, "PARENT_COMPANY_TO_CHILD_COMPANY", "Child Company"),
            (14, "Parent Company"),
            single=(False, True),
        ),
        *_pair(
            (931, CONTACT, COMPANY, "BILLING_CONTACT_TO_COMPANY", "Billing contact"),
            (932, "Billing contact"),
            category=USER_DEFINED,
        ),
        _self(449, CONTACT, "CONTACT"),
        _self(450, COMPANY, "COMPANY"),
        _self(451, DEAL, "DEAL"),
        _self(452, TICKET, "TICKET"),
    ]
    for offset, (other, upper) in enumerate(
        ((CONTACT, "CONTACT"), (COMPANY, "COMPANY"), (DEAL, "DEAL"), (TICKET, "TICKET"))
    ):
        forward = 1101 + 2 * offset
        types += _pair(
            (forward, other, custom_type, f"{upper}_TO_{custom_upper}", None),
            (forward + 1, None),
            category=USER_DEFINED,
        )
    return types


class AssocCatalog:
    """Lookups over a portal's association types."""

    def __init__(self, types: list[AssocType]) -> None:
        self.by_id: dict[int, AssocType] = {t.id: t for t in types}
        self._default: dict[tuple[str, str], AssocType] = {}
        for assoc in types:
            if assoc.label is None:
                self._default.setdefault((assoc.from_type, assoc.to_type), assoc)

    def get(self, type_id: int) -> AssocType | None:
        return self.by_id.get(type_id)

    def default(self, from_type: str, to_type: str) -> AssocType | None:
        """The pair's unlabeled type, e.g. 279 for contact→company."""
        return self._default.get((from_type, to_type))

    def between(self, from_type: str, to_type: str) -> list[AssocType]:
        return [t for t in self.by_id.values() if (t.from_type, t.to_type) == (from_type, to_type)]

    def touching(self, object_type: str) -> list[AssocType]:
        return [t for t in self.by_id.values() if object_type in (t.from_type, t.to_type)]

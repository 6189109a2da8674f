"""Record ids: the 18-char suffix against real ids, normalisation, and ids the org hands out."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from writeback.sandbox.salesforce import ids

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

# Real 18-char ids quoted in providers.md (§A1, §A4, §A5, §A8, §A9).
REAL_IDS = [
    "003ak00000luKU1AAM",
    "003ak00000luKU2AAM",
    "0015c00002Lz9mUAAR",
    "00190000001pPvHAAU",
    "003J800000DeOXjIAN",
    "001ak00000OQTieAAH",
    "0038M0000016Wv8QAE",
    "001RM000003oLruYAE",
    "001RM000003oCprYAE",
    "001RM000003oLrHYAU",
    "00Dxx0000001gPLEAY",
    "005xx000001SwiUAAS",
]


@pytest.mark.parametrize("real", REAL_IDS)
def test_suffix_matches_real_ids(real: str) -> None:
    assert ids.to18(real[:15]) == real


def test_normalize_accepts_15_and_18_and_any_case_suffix() -> None:
    assert ids.normalize("003ak00000luKU1") == "003ak00000luKU1AAM"
    assert ids.normalize("003ak00000luKU1AAM") == "003ak00000luKU1AAM"
    assert ids.normalize("003ak00000luKU1aam") == "003ak00000luKU1AAM"


@pytest.mark.parametrize(
    "bad",
    [
        "001900K0001pPuOAAU",  # a real MALFORMED_ID capture: the suffix does not match
        "003ak00000luKU1AAA",
        "003ak00000luKU19AM",  # "9" is not a suffix character
        "003ak00000luKU",
        "003ak00000luKU1AA",
        "003ak00000luK-1AAM",
        "",
    ],
)
def test_normalize_rejects_malformed(bad: str) -> None:
    assert ids.normalize(bad) is None


def test_fifteen_chars_are_case_sensitive() -> None:
    lower = ids.normalize("003ak00000lukU1")
    assert lower is not None and lower != ids.normalize("003ak00000luKU1")


def test_sequence_round_trip_and_layout() -> None:
    made = ids.make_id("001", "ak", 62**5 + 7)
    assert len(made) == 18 and made.startswith("001ak0") and ids.normalize(made) == made
    assert ids.decode_sequence(made[6:15]) == 62**5 + 7


def test_org_hands_out_realistic_unique_ids(sf: Salesforce) -> None:
    made = [sf.Account.create({"Name": f"A{i}"})["id"] for i in range(3)]
    assert len(set(made)) == 3
    for record_id in made:
        assert len(record_id) == 18 and record_id.startswith("001")
        assert ids.to18(record_id[:15]) == record_id
    contact = sf.Contact.create({"LastName": "X"})["id"]
    lead = sf.Lead.create({"LastName": "X", "Company": "C"})["id"]
    opp = sf.Opportunity.create(
        {"Name": "O", "StageName": "Prospecting", "CloseDate": "2025-01-31"}
    )
    touch = sf.touchpoints__c.create({"Channel__c": "Web"})["id"]
    assert (contact[:3], lead[:3], opp["id"][:3], touch[:3]) == ("003", "00Q", "006", "a05")


def test_get_accepts_15_char_and_lower_case_suffix(sf: Salesforce) -> None:
    record_id = sf.Account.create({"Name": "Case"})["id"]
    assert sf.Account.get(record_id[:15])["Id"] == record_id
    assert sf.Account.get(record_id[:15] + record_id[15:].lower())["Id"] == record_id
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(record_id[:15].swapcase())  # another (unknown) 15-char id


def test_bad_suffix_is_malformed_id(sf: Salesforce) -> None:
    record_id = sf.Account.create({"Name": "Bad"})["id"]
    broken = record_id[:15] + ("AAA" if record_id[15:] != "AAA" else "BBB")
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Account.get(broken)
    assert caught.value.status == 400
    assert caught.value.content == [
        {
            "message": f"Account ID: id value of incorrect type: {broken}",
            "errorCode": "MALFORMED_ID",
            "fields": ["Id"],
        }
    ]

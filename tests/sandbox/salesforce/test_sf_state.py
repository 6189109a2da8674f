"""The org's state: admin views, reset, and a snapshot that restores everything."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from simple_salesforce.exceptions import SalesforceResourceNotFound

from writeback.sandbox import persistence, salesforce
from writeback.sandbox.salesforce.org import Org
from writeback.sandbox.salesforce.schema import SCHEMA
from writeback.sandbox.salesforce.usage import ApiUsage
from writeback.sandbox.tenants import Registry

if TYPE_CHECKING:
    from conftest import Sandbox
    from sandbox.salesforce.conftest import SfOrg


def only_salesforce(data: dict[str, Any], tenant_id: str) -> dict[str, Any]:
    """The snapshot of one tenant (the session sandbox holds other tests' tenants too)."""
    return {
        "tenants": [t for t in data["tenants"] if t["id"] == tenant_id],
        "accessTokens": [a for a in data["accessTokens"] if a["tenant_id"] == tenant_id],
        "refreshTokens": [r for r in data["refreshTokens"] if r["tenant_id"] == tenant_id],
    }


def test_admin_views(org: SfOrg) -> None:
    sf = org.client()
    kept = sf.Account.create({"Name": "Kept", "BillingCity": "Oslo"})["id"]
    gone = sf.Account.create({"Name": "Gone"})["id"]
    sf.Account.delete(gone)
    listed = org.admin("GET", "/records/account").json()
    assert listed["total"] == 1 and listed["records"][0]["Id"] == kept
    assert listed["records"][0]["BillingAddress"]["city"] == "Oslo"
    by_15 = org.admin("GET", f"/records/Account/{kept[:15]}").json()
    assert by_15["Name"] == "Kept"
    assert org.admin("GET", f"/records/Account/{gone}").json()["IsDeleted"] is True
    assert org.admin("GET", "/records/Account/garbage").status_code == 404
    tenant = org.admin("GET", "").json()
    assert tenant["objects"] == {
        "Account": 1,
        "Contact": 0,
        "Lead": 0,
        "Opportunity": 0,
        "touchpoints__c": 0,
    }


def test_reset_empties_the_org_but_never_reuses_ids(org: SfOrg) -> None:
    sf = org.client()
    before = sf.Account.create({"Name": "Old", "External_Id__c": "E1"})["id"]
    assert org.admin("POST", "/reset").status_code == 204
    assert org.admin("GET", "/records/Account").json()["total"] == 0
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(before)
    after = sf.Account.upsert("External_Id__c/E1", {"Name": "New"})
    assert after == 201  # the external-id index was reset too
    newest = sf.Account.create({"Name": "Newest"})["id"]
    assert newest not in (before,)
    assert sf.limits()["DailyApiRequests"]["Remaining"] == 5_000_000 - 4  # since the reset


def test_snapshot_round_trip(org: SfOrg, sandbox: Sandbox) -> None:
    sf = org.client()
    account = sf.Account.create({"Name": "Acme", "External_Id__c": "A-1"})["id"]
    contact = sf.Contact.create({"LastName": "Doe", "Email": "doe@x.com", "AccountId": account})
    gone = sf.Lead.create({"LastName": "L", "Company": "C"})["id"]
    sf.Lead.delete(gone)
    sf.touchpoints__c.create({"External_Id__c": "T-1", "Occurred_At__c": "2025-01-01T00:00:00Z"})

    data = only_salesforce(persistence.snapshot(sandbox.app.registry), org.tenant_id)
    data = orjson.loads(orjson.dumps(data))  # what the state file stores
    fresh = Registry({"salesforce": salesforce.KIND})
    persistence.restore(fresh, data)

    original: Org = sandbox.app.registry.tenants[org.tenant_id].state
    restored: Org = fresh.tenants[org.tenant_id].state
    assert restored.snapshot() == original.snapshot()
    assert restored.org_id == original.org_id and restored.user_id == original.user_id
    assert restored.usage.used() == original.usage.used() == 5
    assert restored.get_record("Lead", gone)["IsDeleted"] is True
    assert restored.list_records("CONTACT")[0]["Id"] == contact["id"]
    assert restored.list_records("Nope") is None
    # indexes are rebuilt from the records: external ids and duplicate rules still match
    account_type = SCHEMA.get("Account")
    assert account_type is not None
    assert restored.matching(account_type, "External_Id__c", "a-1") == {account}
    # the id counters continue where they were
    assert restored.new_id(account_type) == original.new_id(account_type)
    assert fresh.tenant_for_access_token(org.token, "salesforce").id == org.tenant_id


def test_restored_state_serves_requests(new_org: Callable[..., SfOrg], sandbox: Sandbox) -> None:
    source = new_org()
    account = source.client().Account.create({"Name": "Moved"})["id"]
    data = only_salesforce(persistence.snapshot(sandbox.app.registry), source.tenant_id)
    target = new_org()
    tenant = sandbox.app.registry.tenants[target.tenant_id]
    with pytest.raises(SalesforceResourceNotFound):
        target.client().Account.get(account)
    tenant.state = salesforce.KIND.restore_state(tenant, data["tenants"][0]["state"])
    assert target.client().Account.get(account)["Name"] == "Moved"


def test_settings_are_checked_when_the_org_is_created(sandbox: Sandbox) -> None:
    bad = sandbox.admin.post(
        "/_sandbox/tenants",
        json={
            "provider": "salesforce",
            "settings": {"allOrNoneFailureStatus": 201, "apiVersions": []},
        },
    )
    assert bad.status_code == 400
    assert "allOrNoneFailureStatus must be 200 or 400, got 201" in bad.json()["error"]
    assert "apiVersions must be a non-empty ascending list" in bad.json()["error"]
    wrong_org = sandbox.admin.post(
        "/_sandbox/tenants",
        json={"provider": "salesforce", "settings": {"orgId": "001000000000000"}},
    )
    assert wrong_org.status_code == 400 and "orgId" in wrong_org.json()["error"]
    fixed = sandbox.new_tenant("salesforce", settings={"orgId": "00Dxx0000001gPL"})
    assert fixed["orgId"] == "00Dxx0000001gPLEAY"
    assert fixed["accessToken"].startswith("00Dxx0000001gPL!")
    assert fixed["idUrl"].endswith(f"/id/00Dxx0000001gPLEAY/{fixed['userId']}")


def test_api_usage_is_a_rolling_day() -> None:
    hour = int(time.time() // 3600)
    usage = ApiUsage({hour - 30: 5, hour - 23: 3, hour: 2})
    assert usage.used() == 5  # the bucket 30 hours ago fell out of the window
    assert usage.add() == 6 and usage.used() == 6
    assert ApiUsage.from_json(usage.to_json()).used() == 6

"""Portal state: admin views, reset, and a snapshot restored into a fresh registry."""

from __future__ import annotations

import orjson
import pytest
from hubspot.crm.associations.v4 import AssociationSpec
from hubspot.crm.contacts import ApiException
from hubspot.crm.contacts import SimplePublicObjectInputForCreate as ContactCreate
from hubspot.crm.objects import SimplePublicObjectInputForCreate as ObjectCreate
from hubspot.crm.properties import PropertyCreate

from conftest import Sandbox, ServerThread
from sandbox.hubspot.hs_support import HsTenant
from writeback.sandbox.app import SandboxApp, new_registry
from writeback.sandbox.hubspot.portal import Portal
from writeback.sandbox.persistence import restore, snapshot


def fill(hs: HsTenant) -> tuple[str, str]:
    client = hs.client()
    client.crm.properties.core_api.create(
        "contacts",
        PropertyCreate(
            name="shoe_size", label="Shoe size", type="number", field_type="number", group_name="g"
        ),
    )
    contact = client.crm.contacts.basic_api.create(
        ContactCreate(properties={"email": "keep@x.io", "shoe_size": "44"})
    )
    touch = client.crm.objects.basic_api.create(
        "p_touchpoints", ObjectCreate(properties={"name": "t", "touchpoint_key": "k"})
    )
    spec = [AssociationSpec(association_category="USER_DEFINED", association_type_id=1101)]
    client.crm.associations.v4.basic_api.create("contacts", contact.id, "2-1234567", touch.id, spec)
    client.crm.contacts.basic_api.archive(
        client.crm.contacts.basic_api.create(ContactCreate(properties={"email": "gone@x.io"})).id
    )
    return contact.id, touch.id


def test_records_views_accept_every_object_name(hs: HsTenant) -> None:
    contact_id, touch_id = fill(hs)
    for name in ("contacts", "contact", "0-1", "CONTACT"):
        assert hs.records(name)[0]["id"] == contact_id
    for name in ("touchpoints", "2-1234567", "p_touchpoints", f"p{hs.hub_id}_touchpoints"):
        assert [r["id"] for r in hs.records(name)] == [touch_id]
    assert hs.sandbox.admin.get(f"{hs.admin_base}/records/butterflies").status_code == 404
    one = hs.sandbox.admin.get(f"{hs.admin_base}/records/contact/{contact_id}").json()
    assert one["properties"]["shoe_size"] == "44"
    assert one["associations"] == {"touchpoints": [{"id": touch_id, "typeIds": [1101]}]}
    counts = hs.sandbox.admin.get(hs.admin_base).json()["objects"]
    assert counts["contacts"] == 1 and counts["touchpoints"] == 1 and counts["associations"] == 2


def test_reset_empties_the_portal(hs: HsTenant) -> None:
    fill(hs)
    assert hs.sandbox.admin.post(f"{hs.admin_base}/reset").status_code == 204
    assert hs.records("contacts") == [] and hs.stats() == {}
    fields = [p.name for p in hs.client().crm.properties.core_api.get_all("contacts").results]
    assert "shoe_size" not in fields


def test_snapshot_round_trip_on_a_fresh_registry(hs: HsTenant) -> None:
    contact_id, touch_id = fill(hs)
    data = orjson.loads(orjson.dumps(snapshot(hs.sandbox.app.registry)))
    fresh = new_registry()
    restore(fresh, data)
    tenant = fresh.tenants[hs.id]
    portal: Portal = tenant.state
    original: Portal = hs.sandbox.app.registry.tenants[hs.id].state
    assert portal.hub_id == hs.hub_id and portal.snapshot() == original.snapshot()
    assert portal.list_records("contacts") == original.list_records("contacts")
    with ServerThread(SandboxApp(fresh)) as running:
        moved = HsTenant(hs.info, Sandbox(running.url, SandboxApp(fresh), hs.sandbox.admin))
        client = moved.client()  # the old token works on the restored sandbox
        got = client.crm.contacts.basic_api.get_by_id(
            contact_id, properties=["shoe_size"], associations=["p_touchpoints"]
        )
        assert got.properties["shoe_size"] == "44"
        assert [a.id for a in got.associations[f"p{hs.hub_id}_touchpoints"].results] == [touch_id]
        # unique indexes and the id counter came back too
        again = client.crm.contacts.basic_api.create(
            ContactCreate(properties={"email": "new@x.io"})
        )
        assert int(again.id) > int(contact_id)
        with pytest.raises(ApiException) as caught:
            client.crm.contacts.basic_api.create(ContactCreate(properties={"email": "keep@x.io"}))
        assert caught.value.status == 409

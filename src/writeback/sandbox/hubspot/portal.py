"""One HubSpot portal (a tenant's state): types, records, associations, limits.

Implements the sandbox's ProviderState protocol for the admin API and persistence.
"""

from __future__ import annotations

from typing import Any

from writeback.sandbox.hubspot.assoc_types import AssocCatalog, build_types
from writeback.sandbox.hubspot.catalog import CUSTOM_TYPE_ID, build_registry
from writeback.sandbox.hubspot.links import Links
from writeback.sandbox.hubspot.property_input import definition_from_json
from writeback.sandbox.hubspot.ratelimit import RateLimiter
from writeback.sandbox.hubspot.records import Record, admin_view
from writeback.sandbox.hubspot.schema import ObjectType
from writeback.sandbox.hubspot.settings import PortalSettings, parse_settings
from writeback.sandbox.hubspot.store import RecordStore
from writeback.sandbox.hubspot.validation import compile_validator
from writeback.sandbox.tenants import Tenant


def first_record_id(hub_id: int) -> int:
    # 12-digit ids like real ones, in a range that differs between portals.
    return (100 + hub_id % 900) * 10**9 + 1


class Portal:
    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self._settings_source: dict[str, Any] | None = None
        self._settings: PortalSettings | None = None
        self.hub_id: int = self.settings.hub_id  # fixed at creation: names depend on it
        self.app_id = 1_000_000 + self.hub_id % 9_000_000
        self.types = build_registry(self.hub_id)
        custom = self.types.by_id[CUSTOM_TYPE_ID]
        self.assoc = AssocCatalog(build_types(CUSTOM_TYPE_ID, custom.name.upper()))
        self.store = RecordStore(first_record_id(self.hub_id))
        self.links = Links(self.assoc)
        self.limiter = RateLimiter()
        self.created_properties: dict[str, list[dict[str, Any]]] = {}
        self.dropped_properties: dict[str, list[str]] = {}

    @property
    def settings(self) -> PortalSettings:
        """Parsed settings; re-parsed when the admin API replaced the settings dict."""
        raw = self.tenant.settings
        if raw is not self._settings_source:
            self._settings = parse_settings(raw)
            self._settings_source = raw
        assert self._settings is not None
        return self._settings

    @property
    def custom_type(self) -> ObjectType:
        return self.types.by_id[CUSTOM_TYPE_ID]

    # --- properties created through the Properties API --------------------------------

    def add_property(self, object_type: ObjectType, data: dict[str, Any]) -> None:
        definition = definition_from_json(data)
        object_type.add_property(definition, compile_validator(definition))
        if definition.unique:
            index = self.store.unique_index(object_type.type_id, definition.name)
            for record in self.store.table(object_type.type_id).values():
                value = record.props.get(definition.name)
                if value and not record.archived:
                    index.setdefault(value, record.id)
        kept = self.created_properties.setdefault(object_type.type_id, [])
        kept[:] = [d for d in kept if d["name"] != definition.name] + [data]

    def drop_property(self, object_type: ObjectType, name: str) -> None:
        object_type.remove_property(name)
        kept = self.created_properties.get(object_type.type_id, [])
        kept[:] = [d for d in kept if d["name"] != name]
        self.dropped_properties.setdefault(object_type.type_id, []).append(name)

    # --- ProviderState ----------------------------------------------------------------

    def list_records(self, object_name: str) -> list[dict[str, Any]] | None:
        object_type = self.types.resolve(object_name)
        if object_type is None:
            return None
        return [
            {**admin_view(r), "associations": self._admin_links(object_type, r)}
            for r in self.store.table(object_type.type_id).values()
        ]

    def get_record(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        object_type = self.types.resolve(object_name)
        if object_type is None:
            return None
        record = self.store.table(object_type.type_id).get(record_id)
        if record is None:
            return None
        return {**admin_view(record), "associations": self._admin_links(object_type, record)}

    def _admin_links(self, object_type: ObjectType, record: Record) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for to_type, targets in self.links.all_targets(object_type.type_id, record.id).items():
            if targets:
                name = self.types.by_id[to_type].name
                out[name] = [{"id": to_id, "typeIds": kinds} for to_id, kinds in targets.items()]
        return out

    def object_counts(self) -> dict[str, int]:
        counts = {
            t.name: sum(1 for r in self.store.table(t.type_id).values() if not r.archived)
            for t in self.types
        }
        counts["associations"] = self.links.count()
        return counts

    def reset(self) -> None:
        self.created_properties.clear()
        self.dropped_properties.clear()
        self.types = build_registry(self.hub_id)
        self.store.clear()
        self.links.clear()
        self.limiter.reset()

    def snapshot(self) -> dict[str, Any]:
        return {
            "nextId": self.store.next_id,
            "records": {
                type_id: [r.to_state() for r in table.values()]
                for type_id, table in self.store.tables.items()
                if table
            },
            "associations": self.links.to_state(),
            "properties": self.created_properties,
            "droppedProperties": self.dropped_properties,
        }

    @classmethod
    def restore(cls, tenant: Tenant, data: dict[str, Any]) -> Portal:
        portal = cls(tenant)
        for type_id, names in data.get("droppedProperties", {}).items():
            for name in names:
                portal.drop_property(portal.types.by_id[type_id], name)
        for type_id, created in data.get("properties", {}).items():
            for definition in created:
                portal.add_property(portal.types.by_id[type_id], definition)
        for type_id, rows in data.get("records", {}).items():
            object_type = portal.types.by_id[type_id]
            unique = object_type.unique_props
            for row in rows:
                record = Record.from_state(row)
                portal.store.insert(type_id, record, () if record.archived else unique)
        portal.store.next_id = data.get("nextId", portal.store.next_id)
        portal.links.load_state(data.get("associations", []))
        return portal

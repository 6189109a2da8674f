"""One tenant's org: records per object, the recycle bin, id counters, the API counter.

Implements the sandbox's ProviderState. Records are plain dicts of canonical field name ->
stored value (only the fields that were set), keyed by 18-char id. Value indexes (for
external ids, unique fields and duplicate rules) are built on first use and kept up to date
by every write. A journal, when open, records what each write replaced so an allOrNone
collection can be rolled back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from writeback.sandbox.salesforce import ids
from writeback.sandbox.salesforce.records import render
from writeback.sandbox.salesforce.schema import SCHEMA, SObject
from writeback.sandbox.salesforce.usage import ApiUsage

if TYPE_CHECKING:
    from writeback.sandbox.tenants import Tenant

Record = dict[str, Any]
Index = dict[str, set[str]]
# (object, id, live record before, recycled record before)
JournalEntry = tuple[str, str, Record | None, Record | None]


def index_key(value: Any) -> str:
    # External ids, emails and unique text fields match case-insensitively.
    return value.lower() if isinstance(value, str) else str(value)


class Org:
    def __init__(
        self,
        tenant: Tenant,
        org_id: str,
        *,
        sequences: dict[str, int] | None = None,
        usage: ApiUsage | None = None,
    ) -> None:
        self.tenant = tenant
        self.org_id = org_id
        self.pod = org_id[3:5]
        self.user_id = ids.to18("005" + self.pod + "0" + ids.derived(org_id + ":user", 9))
        self.records: dict[str, dict[str, Record]] = {o.name: {} for o in SCHEMA.objects}
        self.deleted: dict[str, dict[str, Record]] = {o.name: {} for o in SCHEMA.objects}
        # Counters start at an org-specific point so ids look like real ones (001ak00000OQTie).
        self.sequences = {
            o.name: ids.decode_sequence(ids.derived(org_id + o.name, 5)) for o in SCHEMA.objects
        } | (sequences or {})
        self.usage = usage or ApiUsage()
        self._indexes: dict[tuple[str, str], Index] = {}
        self._journal: list[JournalEntry] | None = None

    # --- ids ---------------------------------------------------------------------

    def new_id(self, sobject: SObject) -> str:
        self.sequences[sobject.name] += 1
        return ids.make_id(sobject.key_prefix, self.pod, self.sequences[sobject.name])

    @property
    def username(self) -> str:
        return f"admin@{self.tenant.id}.sandbox.example.com"

    # --- reads -------------------------------------------------------------------

    def live(self, sobject: SObject, record_id: str) -> Record | None:
        return self.records[sobject.name].get(record_id)

    def recycled(self, sobject: SObject, record_id: str) -> Record | None:
        return self.deleted[sobject.name].get(record_id)

    def exists(self, object_name: str, record_id: str) -> bool | None:
        """True: live; False: in the recycle bin; None: never existed here."""
        if object_name == "User":
            return True if record_id == self.user_id else None
        if record_id in self.records[object_name]:
            return True
        return False if record_id in self.deleted[object_name] else None

    def matching(self, sobject: SObject, field_name: str, value: Any) -> set[str]:
        """Ids of live records whose field equals value (case-insensitively for text)."""
        return self._index(sobject.name, field_name).get(index_key(value), set())

    def _index(self, object_name: str, field_name: str) -> Index:
        key = (object_name, field_name)
        index = self._indexes.get(key)
        if index is None:
            index = {}
            for record_id, record in self.records[object_name].items():
                value = record.get(field_name)
                if value is not None:
                    index.setdefault(index_key(value), set()).add(record_id)
            self._indexes[key] = index
        return index

    # --- writes ------------------------------------------------------------------

    def put(self, sobject: SObject, record: Record) -> None:
        """Insert or replace a live record."""
        name, record_id = sobject.name, record["Id"]
        table = self.records[name]
        before = table.get(record_id)
        if self._journal is not None:
            self._journal.append((name, record_id, before, self.deleted[name].get(record_id)))
        self._reindex(name, record_id, before, record)
        table[record_id] = record

    def recycle(self, sobject: SObject, record_id: str) -> None:
        name = sobject.name
        before = self.records[name].pop(record_id)
        if self._journal is not None:
            self._journal.append((name, record_id, before, None))
        self._reindex(name, record_id, before, None)
        self.deleted[name][record_id] = {**before, "IsDeleted": True}

    def _reindex(
        self, object_name: str, record_id: str, before: Record | None, after: Record | None
    ) -> None:
        for (indexed_object, field_name), index in self._indexes.items():
            if indexed_object != object_name:
                continue
            old = before.get(field_name) if before else None
            new = after.get(field_name) if after else None
            if old == new:
                continue
            if old is not None:
                holders = index.get(index_key(old))
                if holders is not None:
                    holders.discard(record_id)
                    if not holders:
                        del index[index_key(old)]
            if new is not None:
                index.setdefault(index_key(new), set()).add(record_id)

    @contextmanager
    def journal(self) -> Iterator[list[JournalEntry]]:
        """Record every write inside the block; `rollback(entries)` undoes them."""
        outer, self._journal = self._journal, []
        try:
            yield self._journal
        finally:
            self._journal = outer

    def rollback(self, entries: list[JournalEntry]) -> None:
        for name, record_id, live, recycled in reversed(entries):
            table = self.records[name]
            current = table.get(record_id)
            self._reindex(name, record_id, current, live)
            if live is None:
                table.pop(record_id, None)
            else:
                table[record_id] = live
            if recycled is None:
                self.deleted[name].pop(record_id, None)
            else:
                self.deleted[name][record_id] = recycled

    # --- ProviderState ---------------------------------------------------------------

    def _version(self) -> str:
        return self.tenant.settings["apiVersions"][-1]

    def list_records(self, object_name: str) -> list[dict[str, Any]] | None:
        sobject = SCHEMA.get(object_name)
        if sobject is None:
            return None
        version = self._version()
        return [render(sobject, r, version) for r in self.records[sobject.name].values()]

    def get_record(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        sobject = SCHEMA.get(object_name)
        canonical = ids.normalize(record_id)
        if sobject is None or canonical is None:
            return None
        record = self.live(sobject, canonical) or self.recycled(sobject, canonical)
        return render(sobject, record, self._version()) if record else None

    def object_counts(self) -> dict[str, int]:
        return {name: len(table) for name, table in self.records.items()}

    def reset(self) -> None:
        # Id counters keep going: a client that cached ids never sees one reused.
        for table in (*self.records.values(), *self.deleted.values()):
            table.clear()
        self._indexes.clear()
        self.usage.clear()

    def snapshot(self) -> dict[str, Any]:
        return {
            "orgId": self.org_id,
            "sequences": dict(self.sequences),
            "records": {name: list(table.values()) for name, table in self.records.items()},
            "deleted": {name: list(table.values()) for name, table in self.deleted.items()},
            "apiUsage": self.usage.to_json(),
        }

    @classmethod
    def restore(cls, tenant: Tenant, data: dict[str, Any]) -> Org:
        org = cls(
            tenant,
            data["orgId"],
            sequences=dict(data["sequences"]),
            usage=ApiUsage.from_json(data.get("apiUsage", {})),
        )
        for name, records in data.get("records", {}).items():
            org.records[name] = {r["Id"]: r for r in records}
        for name, records in data.get("deleted", {}).items():
            org.deleted[name] = {r["Id"]: r for r in records}
        return org

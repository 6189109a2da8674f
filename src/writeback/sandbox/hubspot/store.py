"""Records of one portal: per object type, by id, in creation order, with unique indexes."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator

from writeback.sandbox.hubspot.records import Record


class RecordStore:
    def __init__(self, first_id: int) -> None:
        self.first_id = first_id
        self.next_id = first_id
        self.tables: dict[str, dict[str, Record]] = {}
        # Ids as ints in creation order (ids only grow), for cheap `after` paging.
        self.order: dict[str, list[int]] = {}
        # type id → property → value → record id, for hasUniqueValue properties.
        self.unique: dict[str, dict[str, dict[str, str]]] = {}

    def new_id(self) -> str:
        value = self.next_id
        self.next_id += 1
        return str(value)

    def table(self, type_id: str) -> dict[str, Record]:
        found = self.tables.get(type_id)
        if found is None:
            found = self.tables[type_id] = {}
            self.order[type_id] = []
        return found

    def insert(self, type_id: str, record: Record, unique_props: Iterable[str]) -> None:
        self.table(type_id)[record.id] = record
        self.order[type_id].append(int(record.id))
        for name in unique_props:
            value = record.props.get(name)
            if value:
                self.unique_index(type_id, name)[value] = record.id

    def unique_index(self, type_id: str, name: str) -> dict[str, str]:
        by_prop = self.unique.setdefault(type_id, {})
        found = by_prop.get(name)
        if found is None:
            found = by_prop[name] = {}
        return found

    def reindex(self, type_id: str, name: str, old: str | None, new: str, record_id: str) -> None:
        index = self.unique_index(type_id, name)
        if old and index.get(old) == record_id:
            del index[old]
        if new:
            index[new] = record_id

    def unindex(self, type_id: str, record: Record) -> None:
        for name, index in self.unique.get(type_id, {}).items():
            value = record.props.get(name)
            if value and index.get(value) == record.id:
                del index[value]

    def get(self, type_id: str, record_id: str, archived: bool = False) -> Record | None:
        record = self.tables.get(type_id, {}).get(record_id)
        if record is None or record.archived != archived:
            return None
        return record

    def find_unique(self, type_id: str, name: str, value: str) -> Record | None:
        record_id = self.unique.get(type_id, {}).get(name, {}).get(value)
        return None if record_id is None else self.get(type_id, record_id)

    def live(self, type_id: str) -> Iterator[Record]:
        """The type's records that are not archived, in creation order."""
        table = self.tables.get(type_id, {})
        for record_id in self.order.get(type_id, []):
            record = table[str(record_id)]
            if not record.archived:
                yield record

    def page(
        self, type_id: str, after: int | None, limit: int, archived: bool
    ) -> tuple[list[Record], int | None]:
        """Up to `limit` records with id >= after, and the id to continue from (or None)."""
        order = self.order.get(type_id, [])
        table = self.tables.get(type_id, {})
        start = 0 if after is None else bisect_left(order, after)
        found: list[Record] = []
        for position in range(start, len(order)):
            record = table[str(order[position])]
            if record.archived != archived:
                continue
            if len(found) == limit:
                return found, order[position]
            found.append(record)
        return found, None

    def clear(self) -> None:
        self.next_id = self.first_id
        self.tables.clear()
        self.order.clear()
        self.unique.clear()

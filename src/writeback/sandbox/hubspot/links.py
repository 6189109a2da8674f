"""Associations of one portal, stored in both directions.

`(type id, record id) → to-type id → to-record id → [association type ids]`.
"""

from __future__ import annotations

from typing import Any

from writeback.sandbox.hubspot.assoc_types import AssocCatalog, AssocType

Targets = dict[str, list[int]]


class Links:
    def __init__(self, catalog: AssocCatalog) -> None:
        self.catalog = catalog
        self._out: dict[tuple[str, str], dict[str, Targets]] = {}

    def _add_one(
        self, from_type: str, from_id: str, to_type: str, to_id: str, type_id: int
    ) -> None:
        targets = self._out.setdefault((from_type, from_id), {}).setdefault(to_type, {})
        kinds = targets.setdefault(to_id, [])
        if type_id not in kinds:
            kinds.append(type_id)

    def _remove_one(
        self, from_type: str, from_id: str, to_type: str, to_id: str, type_id: int
    ) -> None:
        targets = self._out.get((from_type, from_id), {}).get(to_type)
        if not targets or to_id not in targets:
            return
        kinds = targets[to_id]
        if type_id in kinds:
            kinds.remove(type_id)
        if not kinds:
            del targets[to_id]

    def add(self, assoc: AssocType, from_id: str, to_id: str) -> list[AssocType]:
        """Associate (and the inverse); returns every type now set from→to by this call."""
        added = [assoc]
        if assoc.label is not None:
            plain = self.catalog.default(assoc.from_type, assoc.to_type)
            if plain is not None:
                added.append(plain)
        for kind in added:
            if kind.single:
                self._drop_other_targets(kind, from_id, to_id)
            inverse = self.catalog.by_id[kind.inverse]
            self._add_one(kind.from_type, from_id, kind.to_type, to_id, kind.id)
            self._add_one(inverse.from_type, to_id, inverse.to_type, from_id, inverse.id)
        return added

    def _drop_other_targets(self, kind: AssocType, from_id: str, keep: str) -> None:
        # "Primary" types allow one target: the new one replaces the old one.
        targets = self._out.get((kind.from_type, from_id), {}).get(kind.to_type, {})
        for other, kinds in list(targets.items()):
            if other != keep and kind.id in kinds:
                self.remove(kind, from_id, other)

    def remove(self, assoc: AssocType, from_id: str, to_id: str) -> None:
        inverse = self.catalog.by_id[assoc.inverse]
        self._remove_one(assoc.from_type, from_id, assoc.to_type, to_id, assoc.id)
        self._remove_one(inverse.from_type, to_id, inverse.to_type, from_id, inverse.id)

    def remove_pair(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        for type_id in list(self.types_between(from_type, from_id, to_type, to_id)):
            self.remove(self.catalog.by_id[type_id], from_id, to_id)

    def types_between(self, from_type: str, from_id: str, to_type: str, to_id: str) -> list[int]:
        return self._out.get((from_type, from_id), {}).get(to_type, {}).get(to_id, [])

    def targets(self, from_type: str, from_id: str, to_type: str) -> Targets:
        return self._out.get((from_type, from_id), {}).get(to_type, {})

    def all_targets(self, from_type: str, from_id: str) -> dict[str, Targets]:
        return self._out.get((from_type, from_id), {})

    def drop_record(self, object_type: str, record_id: str) -> None:
        for to_type, targets in list(self.all_targets(object_type, record_id).items()):
            for to_id in list(targets):
                self.remove_pair(object_type, record_id, to_type, to_id)
        self._out.pop((object_type, record_id), None)

    def count(self) -> int:
        return sum(len(t) for by_type in self._out.values() for t in by_type.values())

    def clear(self) -> None:
        self._out.clear()

    def to_state(self) -> list[list[Any]]:
        return [
            [from_type, from_id, to_type, to_id, list(kinds)]
            for (from_type, from_id), by_type in self._out.items()
            for to_type, targets in by_type.items()
            for to_id, kinds in targets.items()
        ]

    def load_state(self, rows: list[list[Any]]) -> None:
        self._out.clear()
        for from_type, from_id, to_type, to_id, kinds in rows:
            for type_id in kinds:
                self._add_one(from_type, from_id, to_type, to_id, int(type_id))

"""CRM v4 associations: labelled and default PUT, list, delete, batch create/read/archive,
and the label list of an object pair."""

from __future__ import annotations

from typing import Any, NoReturn

from writeback.sandbox.http import Request, Response, Router, empty_response, json_response
from writeback.sandbox.hubspot import paths
from writeback.sandbox.hubspot.assoc_types import CATEGORIES, AssocType
from writeback.sandbox.hubspot.batch import batch_body, checked_inputs
from writeback.sandbox.hubspot.body import json_list
from writeback.sandbox.hubspot.errors import api_error, item_error
from writeback.sandbox.hubspot.gate import Gate
from writeback.sandbox.hubspot.portal import Portal
from writeback.sandbox.hubspot.schema import ObjectType
from writeback.sandbox.hubspot.system import now_iso

MAX_PAGE = 500


class Problem(Exception):
    """One association that cannot be made; whole 400 on single calls, an item in batches."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["message"])
        self.error = error

    def raise_whole(self) -> NoReturn:
        raise api_error(
            400,
            self.error["message"],
            self.error["category"],
            context=self.error.get("context"),
            sub_category=self.error.get("subCategory"),
        )


def _id_of(raw: Any) -> str:
    if isinstance(raw, dict):
        raw = raw.get("id")
    return "" if raw is None else str(raw)


def check_object(portal: Portal, object_type: ObjectType, record_id: str) -> None:
    if not record_id.isdigit():
        raise Problem(
            item_error(
                "VALIDATION_ERROR",
                f"{record_id} is not a valid ID",
                {"id": [record_id]},
                sub_category="crm.associations.INVALID_IDENTIFIER",
            )
        )
    if portal.store.get(object_type.type_id, record_id) is None:
        upper = object_type.upper
        raise Problem(
            item_error(
                "VALIDATION_ERROR",
                "One or more associations are invalid",
                {
                    "INVALID_OBJECT_IDS": [f"{upper}={record_id} is not valid"],
                    "objectId": [record_id],
                    "objectType": [upper],
                },
            )
        )


def check_pair(
    portal: Portal, from_type: ObjectType, from_id: str, to_type: ObjectType, to_id: str
) -> None:
    check_object(portal, from_type, from_id)
    check_object(portal, to_type, to_id)
    if from_type is to_type and from_id == to_id:
        raise Problem(
            item_error(
                "VALIDATION_ERROR", f"Object {from_id} cannot be associated to itself ({from_id})"
            )
        )


def spec_types(
    portal: Portal, from_type: ObjectType, to_type: ObjectType, specs: Any
) -> list[AssocType]:
    if not isinstance(specs, list) or not specs:
        raise Problem(item_error("VALIDATION_ERROR", "Some required fields were not set: [types]"))
    found: list[AssocType] = []
    for spec in specs:
        spec = spec if isinstance(spec, dict) else {}
        category, raw_id = spec.get("associationCategory"), spec.get("associationTypeId")
        assoc = _type_by_id(portal, raw_id)
        valid = (
            assoc is not None
            and category in CATEGORIES
            and assoc.category == category
            and (assoc.from_type, assoc.to_type) == (from_type.type_id, to_type.type_id)
        )
        if assoc is None or not valid:
            raise Problem(
                item_error(
                    "VALIDATION_ERROR",
                    f"{category} association type {raw_id} is not valid between"
                    f" {from_type.upper} and {to_type.upper}",
                    {"associationTypeId": [str(raw_id)]},
                )
            )
        found.append(assoc)
    return found


def _type_by_id(portal: Portal, raw_id: Any) -> AssocType | None:
    try:
        return portal.assoc.get(int(raw_id))
    except (TypeError, ValueError):
        return None


def labels_between(
    portal: Portal, from_type: ObjectType, from_id: str, to_type: ObjectType, to_id: str
) -> list[str]:
    kinds = portal.links.types_between(from_type.type_id, from_id, to_type.type_id, to_id)
    return [label for k in kinds if (label := portal.assoc.by_id[k].label) is not None]


def pair_view(
    portal: Portal, from_type: ObjectType, from_id: str, to_type: ObjectType, to_id: str
) -> dict[str, Any]:
    return {
        "fromObjectTypeId": from_type.type_id,
        "fromObjectId": int(from_id),
        "toObjectTypeId": to_type.type_id,
        "toObjectId": int(to_id),
        "labels": labels_between(portal, from_type, from_id, to_type, to_id),
    }


def default_views(
    portal: Portal, assoc: AssocType, from_id: str, to_id: str
) -> list[dict[str, Any]]:
    inverse = portal.assoc.by_id[assoc.inverse]
    return [
        {
            "from": {"id": a},
            "to": {"id": b},
            "associationSpec": {"associationCategory": kind.category, "associationTypeId": kind.id},
        }
        for kind, a, b in ((assoc, from_id, to_id), (inverse, to_id, from_id))
    ]


def make_default(
    portal: Portal, from_type: ObjectType, from_id: str, to_type: ObjectType, to_id: str
) -> list[dict[str, Any]]:
    assoc = portal.assoc.default(from_type.type_id, to_type.type_id)
    if assoc is None:
        raise Problem(
            item_error(
                "VALIDATION_ERROR",
                f"There is no default association type between {from_type.upper}"
                f" and {to_type.upper}",
            )
        )
    check_pair(portal, from_type, from_id, to_type, to_id)
    portal.links.add(assoc, from_id, to_id)
    return default_views(portal, assoc, from_id, to_id)


def type_views(portal: Portal, kinds: list[int]) -> list[dict[str, Any]]:
    return [
        {"category": a.category, "typeId": a.id, "label": a.label}
        for a in (portal.assoc.by_id[k] for k in kinds)
    ]


def register(router: Router, gate: Gate) -> None:
    def types_of(
        request: Request, portal: Portal, first: str, second: str
    ) -> tuple[ObjectType, ObjectType]:
        return (
            paths.object_type(portal, request.params[first]),
            paths.object_type(portal, request.params[second]),
        )

    @gate("associations.create")
    async def create_labelled(request: Request, portal: Portal) -> Response:
        from_type, to_type = types_of(request, portal, "objectType", "toObjectType")
        from_id, to_id = request.params["objectId"], request.params["toObjectId"]
        specs = json_list(request)
        try:
            kinds = spec_types(portal, from_type, to_type, specs)
            check_pair(portal, from_type, from_id, to_type, to_id)
        except Problem as problem:
            problem.raise_whole()
        for kind in kinds:
            portal.links.add(kind, from_id, to_id)
        return json_response(201, pair_view(portal, from_type, from_id, to_type, to_id))

    @gate("associations.default")
    async def create_default(request: Request, portal: Portal) -> Response:
        from_type, to_type = types_of(request, portal, "fromObjectType", "toObjectType")
        started = now_iso()
        try:
            results = make_default(
                portal,
                from_type,
                request.params["fromObjectId"],
                to_type,
                request.params["toObjectId"],
            )
        except Problem as problem:
            problem.raise_whole()
        return json_response(200, batch_body(results, [], started))

    @gate("associations.archive")
    async def archive_pair(request: Request, portal: Portal) -> Response:
        from_type, to_type = types_of(request, portal, "objectType", "toObjectType")
        portal.links.remove_pair(
            from_type.type_id,
            request.params["objectId"],
            to_type.type_id,
            request.params["toObjectId"],
        )
        return empty_response(204)

    @gate("associations.list")
    async def list_page(request: Request, portal: Portal) -> Response:
        from_type, to_type = types_of(request, portal, "objectType", "toObjectType")
        try:
            limit = int(request.arg("limit") or MAX_PAGE)
            offset = int(request.arg("after") or 0)
        except ValueError:
            raise api_error(400, "limit and after must be integers", "VALIDATION_ERROR") from None
        limit = max(1, min(limit, MAX_PAGE))
        targets = list(
            portal.links.targets(
                from_type.type_id, request.params["objectId"], to_type.type_id
            ).items()
        )
        page = targets[offset : offset + limit]
        body: dict[str, Any] = {
            "results": [
                {"toObjectId": int(to_id), "associationTypes": type_views(portal, kinds)}
                for to_id, kinds in page
            ]
        }
        if offset + limit < len(targets):
            host = request.headers.get("host", "127.0.0.1")
            after = str(offset + limit)
            body["paging"] = {
                "next": {"after": after, "link": f"http://{host}{request.path}?after={after}"}
            }
        return json_response(200, body)

    @gate("associations.batch.create")
    async def batch_create(request: Request, portal: Portal) -> Response:
        started = now_iso()
        from_type, to_type = types_of(request, portal, "fromObjectType", "toObjectType")
        _, inputs = checked_inputs(request)
        results, errors = [], []
        for item in inputs:
            from_id, to_id = _id_of(item.get("from")), _id_of(item.get("to"))
            try:
                kinds = spec_types(portal, from_type, to_type, item.get("types"))
                check_pair(portal, from_type, from_id, to_type, to_id)
            except Problem as problem:
                errors.append(problem.error)
                continue
            for kind in kinds:
                portal.links.add(kind, from_id, to_id)
            results.append(pair_view(portal, from_type, from_id, to_type, to_id))
        return json_response(207 if errors else 201, batch_body(results, errors, started))

    @gate("associations.batch.default")
    async def batch_default(request: Request, portal: Portal) -> Response:
        started = now_iso()
        from_type, to_type = types_of(request, portal, "fromObjectType", "toObjectType")
        _, inputs = checked_inputs(request)
        results, errors = [], []
        for item in inputs:
            try:
                results += make_default(
                    portal, from_type, _id_of(item.get("from")), to_type, _id_of(item.get("to"))
                )
            except Problem as problem:
                errors.append(problem.error)
        return json_response(207 if errors else 200, batch_body(results, errors, started))

    @gate("associations.batch.read")
    async def batch_read(request: Request, portal: Portal) -> Response:
        started = now_iso()
        from_type, to_type = types_of(request, portal, "fromObjectType", "toObjectType")
        _, inputs = checked_inputs(request)
        results, errors = [], []
        for item in inputs:
            from_id = _id_of(item)
            targets = portal.links.targets(from_type.type_id, from_id, to_type.type_id)
            if not targets:
                errors.append(
                    item_error(
                        "OBJECT_NOT_FOUND",
                        f"No {to_type.singular} is associated with {from_type.singular} {from_id}.",
                        {
                            "fromObjectId": [from_id],
                            "fromObjectType": [from_type.singular],
                            "toObjectType": [to_type.singular],
                        },
                        sub_category="crm.associations.NO_ASSOCIATIONS_FOUND",
                    )
                )
                continue
            results.append(
                {
                    "from": {"id": from_id},
                    "to": [
                        {"toObjectId": int(to_id), "associationTypes": type_views(portal, kinds)}
                        for to_id, kinds in targets.items()
                    ],
                }
            )
        return json_response(207 if errors else 200, batch_body(results, errors, started))

    @gate("associations.batch.archive")
    async def batch_archive(request: Request, portal: Portal) -> Response:
        from_type, to_type = types_of(request, portal, "fromObjectType", "toObjectType")
        _, inputs = checked_inputs(request)
        for item in inputs:
            from_id = _id_of(item.get("from"))
            for target in item.get("to") or []:
                portal.links.remove_pair(
                    from_type.type_id, from_id, to_type.type_id, _id_of(target)
                )
        return empty_response(204)

    @gate("associations.batch.labels.archive")
    async def batch_archive_labels(request: Request, portal: Portal) -> Response:
        from_type, to_type = types_of(request, portal, "fromObjectType", "toObjectType")
        _, inputs = checked_inputs(request)
        for item in inputs:
            try:
                kinds = spec_types(portal, from_type, to_type, item.get("types"))
            except Problem as problem:
                problem.raise_whole()
            for kind in kinds:
                portal.links.remove(kind, _id_of(item.get("from")), _id_of(item.get("to")))
        return empty_response(204)

    @gate("associations.labels")
    async def labels(request: Request, portal: Portal) -> Response:
        from_type, to_type = types_of(request, portal, "fromObjectType", "toObjectType")
        kinds = [a.id for a in portal.assoc.between(from_type.type_id, to_type.type_id)]
        return json_response(200, {"results": type_views(portal, kinds)})

    for prefix in paths.OBJECT_ASSOCIATIONS:
        pair = prefix + "/{objectType}/{objectId}/associations/{toObjectType}/{toObjectId}"
        router.add("PUT", pair, create_labelled)
        router.add("DELETE", pair, archive_pair)
        router.add(
            "GET", prefix + "/{objectType}/{objectId}/associations/{toObjectType}", list_page
        )
        router.add(
            "PUT",
            prefix
            + "/{fromObjectType}/{fromObjectId}/associations/default/{toObjectType}/{toObjectId}",
            create_default,
        )
    for prefix in paths.ASSOCIATIONS:
        base = prefix + "/{fromObjectType}/{toObjectType}"
        router.add("POST", base + "/batch/create", batch_create)
        router.add("POST", base + "/batch/associate/default", batch_default)
        router.add("POST", base + "/batch/read", batch_read)
        router.add("POST", base + "/batch/archive", batch_archive)
        router.add("POST", base + "/batch/labels/archive", batch_archive_labels)
        router.add("GET", base + "/labels", labels)

"""CRM v3 batch endpoints: 201/207/200/204 exactly as hubspot-api-client deserializes them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hubspot.crm.contacts import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    BatchResponseSimplePublicObject,
    BatchResponseSimplePublicObjectWithErrors,
    BatchResponseSimplePublicUpsertObject,
    BatchResponseSimplePublicUpsertObjectWithErrors,
)

from sandbox.hubspot.hs_support import HsTenant


def creates(*emails: str, traced: bool = False) -> BatchInputSimplePublicObjectBatchInputForCreate:
    inputs: list[dict[str, Any]] = []
    for i, email in enumerate(emails):
        item: dict[str, Any] = {"properties": {"email": email}}
        if traced:
            item["objectWriteTraceId"] = str(i)
        inputs.append(item)
    return BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs)


def test_batch_create_201_echoes_trace_ids(hs: HsTenant) -> None:
    answer = hs.client().crm.contacts.batch_api.create(creates("a@x.io", "b@x.io", traced=True))
    assert isinstance(answer, BatchResponseSimplePublicObject)
    assert answer.status == "COMPLETE" and answer.completed_at >= answer.started_at
    assert [r.properties["email"] for r in answer.results] == ["a@x.io", "b@x.io"]
    assert [r.object_write_trace_id for r in answer.results] == ["0", "1"]
    assert len(hs.records("contacts")) == 2


def test_batch_create_conflict_with_trace_ids_is_207_per_item(hs: HsTenant) -> None:
    api = hs.client().crm.contacts.batch_api
    first = api.create(creates("dup@x.io")).results[0]
    answer = api.create(creates("new@x.io", "dup@x.io", "new@x.io", traced=True))
    assert isinstance(answer, BatchResponseSimplePublicObjectWithErrors)
    assert [r.object_write_trace_id for r in answer.results] == ["0"]
    assert answer.num_errors == 2
    conflict, in_batch = answer.errors
    assert conflict.category == "CONFLICT"
    assert conflict.message == f"Contact already exists. Existing ID: {first.id}"
    assert conflict.context == {"objectWriteTraceId": ["1"], "existingId": [first.id]}
    # the same email twice in one batch: the second loses to the first
    assert in_batch.context == {"objectWriteTraceId": ["2"], "existingId": [answer.results[0].id]}


def test_batch_create_conflict_without_trace_ids_fails_whole_batch_409(hs: HsTenant) -> None:
    api = hs.client().crm.contacts.batch_api
    first = api.create(creates("dup@x.io")).results[0]
    with pytest.raises(ApiException) as caught:
        api.create(creates("fresh@x.io", "dup@x.io"))
    assert caught.value.status == 409
    body = json.loads(caught.value.body)
    assert body["category"] == "CONFLICT" and body["status"] == "error"
    assert body["message"] == f"Contact already exists. Existing ID: {first.id}"
    assert "errors" not in body and body["correlationId"]
    assert len(hs.records("contacts")) == 1  # "fresh" was not written either


def test_batch_create_conflict_setting_per_item(new_hs: Any) -> None:
    hs: HsTenant = new_hs(settings={"batchCreateConflict": "per_item"})
    api = hs.client().crm.contacts.batch_api
    api.create(creates("dup@x.io"))
    answer = api.create(creates("fresh@x.io", "dup@x.io"))
    assert isinstance(answer, BatchResponseSimplePublicObjectWithErrors)
    assert len(answer.results) == 1 and "objectWriteTraceId" not in answer.errors[0].context


def test_batch_create_bad_property_fails_whole_batch(hs: HsTenant) -> None:
    inputs = BatchInputSimplePublicObjectBatchInputForCreate(
        inputs=[
            {"properties": {"email": "ok@x.io"}, "objectWriteTraceId": "0"},
            {"properties": {"first000name": "A", "last000name": "B"}, "objectWriteTraceId": "1"},
        ]
    )
    with pytest.raises(ApiException) as caught:
        hs.client().crm.contacts.batch_api.create(inputs)
    body = json.loads(caught.value.body)
    assert caught.value.status == 400 and body["category"] == "VALIDATION_ERROR"
    assert [e["context"]["propertyName"] for e in body["errors"]] == [
        ["first000name"],
        ["last000name"],
    ]
    assert hs.records("contacts") == []


def test_batch_is_capped_at_100_inputs(hs: HsTenant) -> None:
    with pytest.raises(ApiException) as caught:
        hs.client().crm.contacts.batch_api.create(creates(*[f"{i}@x.io" for i in range(101)]))
    assert caught.value.status == 400
    assert "maximum number of inputs" in json.loads(caught.value.body)["message"]
    answer = hs.client().crm.contacts.batch_api.create(creates(*[f"{i}@x.io" for i in range(100)]))
    assert len(answer.results) == 100


def test_batch_read_200_and_207_with_missing_ids(hs: HsTenant) -> None:
    api = hs.client().crm.contacts.batch_api
    made = api.create(creates("r1@x.io", "r2@x.io")).results
    ids = [{"id": r.id} for r in made]
    found = api.read(BatchReadInputSimplePublicObjectId(inputs=ids, properties=["email"]))
    assert isinstance(found, BatchResponseSimplePublicObject)
    assert sorted(r.properties["email"] for r in found.results) == ["r1@x.io", "r2@x.io"]
    partial = api.read(
        BatchReadInputSimplePublicObjectId(inputs=[*ids, {"id": "999"}], properties=["email"])
    )
    assert isinstance(partial, BatchResponseSimplePublicObjectWithErrors)
    assert partial.errors[0].category == "OBJECT_NOT_FOUND"
    assert partial.errors[0].context == {"ids": ["999"]}
    by_email = api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[{"id": "R1@x.io"}], properties=["email"], id_property="email"
        )
    )
    assert by_email.results[0].id == made[0].id


def test_batch_update_200_then_207_with_context_ids(hs: HsTenant) -> None:
    api = hs.client().crm.contacts.batch_api
    made = api.create(creates("u1@x.io", "u2@x.io")).results
    update = BatchInputSimplePublicObjectBatchInput(
        inputs=[{"id": r.id, "properties": {"firstname": "New"}} for r in made]
    )
    done = api.update(update)
    assert isinstance(done, BatchResponseSimplePublicObject)
    assert {r.properties["firstname"] for r in done.results} == {"New"}
    partial = api.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                {"id": made[0].id, "properties": {"lastname": "L"}},
                {"id": "404404", "properties": {"lastname": "L"}},
                {"id": made[1].id, "properties": {"email": "u1@x.io"}},
            ]
        )
    )
    assert isinstance(partial, BatchResponseSimplePublicObjectWithErrors)
    assert [r.id for r in partial.results] == [made[0].id]
    missing, conflict = partial.errors
    assert missing.category == "OBJECT_NOT_FOUND" and missing.context == {"ids": ["404404"]}
    assert "Could not get some CONTACT objects" in missing.message
    assert conflict.category == "CONFLICT" and conflict.context["ids"] == [made[1].id]


def test_batch_update_duplicate_ids_is_400(hs: HsTenant) -> None:
    made = hs.client().crm.contacts.batch_api.create(creates("d@x.io")).results[0]
    with pytest.raises(ApiException) as caught:
        hs.client().crm.contacts.batch_api.update(
            BatchInputSimplePublicObjectBatchInput(
                inputs=[{"id": made.id, "properties": {"city": c}} for c in ("a", "b")]
            )
        )
    body = json.loads(caught.value.body)
    assert caught.value.status == 400 and body["context"] == {"ids": [made.id]}
    assert body["message"] == f"Duplicate IDs found in batch input: [{made.id}]. IDs must be unique"


def test_batch_upsert_reports_new_flag(hs: HsTenant) -> None:
    api = hs.client().crm.contacts.batch_api
    existing = api.create(creates("old@x.io")).results[0]
    answer = api.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                {"idProperty": "email", "id": "old@x.io", "properties": {"firstname": "Old"}},
                {"idProperty": "email", "id": "new@x.io", "properties": {"firstname": "New"}},
            ]
        )
    )
    assert isinstance(answer, BatchResponseSimplePublicUpsertObject)
    by_email = {r.properties["email"]: r for r in answer.results}
    assert by_email["old@x.io"].new is False and by_email["old@x.io"].id == existing.id
    assert (
        by_email["new@x.io"].new is True and by_email["new@x.io"].properties["firstname"] == "New"
    )
    assert len(hs.records("contacts")) == 2


def test_batch_upsert_on_custom_unique_property_and_partial(hs: HsTenant) -> None:
    api = hs.client().crm.contacts.batch_api
    answer = api.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                {"idProperty": "external_id", "id": "ext-1", "properties": {"email": "e@x.io"}},
                {"idProperty": "external_id", "id": "ext-2", "properties": {"email": "e@x.io"}},
            ]
        )
    )
    assert isinstance(answer, BatchResponseSimplePublicUpsertObjectWithErrors)
    assert answer.results[0].properties["external_id"] == "ext-1" and answer.results[0].new
    assert answer.errors[0].category == "CONFLICT"
    with pytest.raises(ApiException) as caught:
        api.upsert(
            BatchInputSimplePublicObjectBatchInputUpsert(
                inputs=[{"idProperty": "firstname", "id": "x", "properties": {}}]
            )
        )
    assert caught.value.status == 400


def test_batch_archive_204(hs: HsTenant) -> None:
    api = hs.client().crm.contacts.batch_api
    made = api.create(creates("z1@x.io", "z2@x.io")).results
    gone = api.archive(BatchInputSimplePublicObjectId(inputs=[{"id": made[0].id}, {"id": "1"}]))
    assert gone is None
    assert [r["archived"] for r in hs.records("contacts")] == [True, False]
    assert hs.stats()["batch.archive"] == 1 and hs.stats()["batch.create"] == 1


def test_dated_batch_paths_answer_like_v3(hs: HsTenant) -> None:
    http = hs.http()
    created = http.post(
        "/crm/objects/2026-03/contacts/batch/create",
        json={"inputs": [{"properties": {"email": "amp@x.io"}, "objectWriteTraceId": "0"}]},
    )
    assert created.status_code == 201, created.text
    record_id = created.json()["results"][0]["id"]
    updated = http.post(
        "/crm/objects/2026-03/contacts/batch/update",
        json={"inputs": [{"id": record_id, "properties": {"firstname": "Amp"}}]},
    )
    assert (
        updated.status_code == 200
        and updated.json()["results"][0]["properties"]["firstname"] == "Amp"
    )

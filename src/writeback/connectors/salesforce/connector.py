"""Salesforce REST: sObject create/update/delete, sObject Collections for batches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

from writeback.connectors.client import ProviderClient
from writeback.connectors.contract import (
    BatchOutcome,
    ConnectorError,
    RecordError,
    RecordResult,
    Verdict,
    WriteHeaders,
    match_key,
    no_match_fields,
)
from writeback.connectors.http import HttpResponse, retry_after_seconds
from writeback.connectors.metadata import ObjectInfo, UnknownObject
from writeback.connectors.salesforce.describe import object_info
from writeback.writes.planning import PlannedRecord

API_VERSION = "v62.0"
UNPROCESSED = "record was not processed due to other records failures"


def _errors(body: Any) -> list[RecordError]:
    """Salesforce error arrays: `errorCode` on single endpoints, `statusCode` in collections."""
    items = body if isinstance(body, list) else [body] if isinstance(body, dict) else []
    out = []
    for item in items:
        if isinstance(item, dict) and item.get("message"):
            code = item.get("errorCode") or item.get("statusCode")
            out.append(RecordError(str(item["message"]), code, item.get("fields") or None))
    return out


def classify(response: HttpResponse) -> list[RecordError]:
    """Raise for failures of the call as a whole; return the record errors otherwise."""
    errors = _errors(response.json())
    code = errors[0].code if errors else None
    message = errors[0].message if errors else f"HTTP {response.status}"
    retry_after = retry_after_seconds(response.headers)
    if code == "REQUEST_LIMIT_EXCEEDED" or response.status == 429:
        raise ConnectorError(
            "rate_limited",
            f"Salesforce API limit: {message}",
            status=response.status,
            raw=response.text,
            retry_after=retry_after,
            code=code,
        )
    if response.status >= 500:
        raise ConnectorError(
            "provider_5xx",
            f"Salesforce answered {response.status}: {message}",
            status=response.status,
            raw=response.text,
            retry_after=retry_after,
            code=code,
            sent=True,  # a gateway's 504 leaves the outcome unknown
        )
    if code == "UNABLE_TO_LOCK_ROW":
        raise ConnectorError(
            "conflict",
            f"Salesforce: {message}",
            status=response.status,
            raw=response.text,
            code=code,
        )
    if not errors:
        errors = [RecordError(f"Salesforce answered HTTP {response.status}: {response.text[:500]}")]
    return errors


class SalesforceConnector:
    provider = "salesforce"

    def __init__(self, client: ProviderClient, instance_url: str) -> None:
        self.client = client
        self.base = f"{instance_url.rstrip('/')}/services/data/{API_VERSION}"

    def _object_url(self, object_name: str, record_id: str | None = None) -> str:
        url = f"{self.base}/sobjects/{quote(object_name, safe='')}/"
        return url + quote(record_id, safe="") if record_id else url

    def _failed(self, response: HttpResponse) -> RecordResult:
        return RecordResult(False, errors=classify(response), raw=response.text)

    async def create(
        self,
        object_name: str,
        record: PlannedRecord,
        headers: WriteHeaders,
        *,
        adopt_since: datetime | None = None,  # Salesforce refuses no duplicates by value
    ) -> RecordResult:
        response = await self.client.send(
            "POST", self._object_url(object_name), json=record.fields, headers=headers
        )
        body = response.json()
        if response.status in (200, 201) and isinstance(body, dict):
            if body.get("success") is False:  # a 2xx can still carry a failure
                return RecordResult(False, errors=_errors(body.get("errors")), raw=response.text)
            return RecordResult(True, record_id=str(body.get("id")))
        return self._failed(response)

    async def update(
        self, object_name: str, record: PlannedRecord, headers: WriteHeaders
    ) -> RecordResult:
        assert record.record_id is not None
        response = await self.client.send(
            "PATCH",
            self._object_url(object_name, record.record_id),
            json=record.fields,
            headers=headers,
        )
        if response.status in (200, 204):
            return RecordResult(True, record_id=record.record_id)
        return self._failed(response)

    async def delete(self, object_name: str, record_id: str, headers: WriteHeaders) -> RecordResult:
        response = await self.client.send(
            "DELETE", self._object_url(object_name, record_id), headers=headers
        )
        if response.status in (200, 204):
            return RecordResult(True, record_id=record_id)
        return self._failed(response)

    async def batch(
        self,
        write_type: Literal["create", "update"],
        object_name: str,
        records: list[PlannedRecord],
        all_or_none: bool,
        headers: WriteHeaders,
        *,
        adopt_since: datetime | None = None,
    ) -> BatchOutcome:
        payload = []
        for record in records:
            item: dict[str, Any] = {"attributes": {"type": object_name}, **record.fields}
            if write_type == "update":
                item["id"] = record.record_id
            payload.append(item)
        response = await self.client.send(
            "POST" if write_type == "create" else "PATCH",
            f"{self.base}/composite/sobjects",
            json={"allOrNone": all_or_none, "records": payload},
            headers=headers,
        )
        body = response.json()
        # 200, or 400 with per-record results (seen with allOrNone rollbacks): both parse.
        if response.status in (200, 400) and isinstance(body, list) and _per_record(body):
            return self._batch_results(body, records)
        errors = classify(response)
        failed = [RecordResult(False, errors=errors) for _ in records]
        return BatchOutcome(failed, errors=errors)

    @staticmethod
    def _batch_results(body: list[Any], records: list[PlannedRecord]) -> BatchOutcome:
        results = []
        for index, record in enumerate(records):
            item = body[index] if index < len(body) else None
            if not isinstance(item, dict):
                results.append(RecordResult(False, errors=[RecordError(UNPROCESSED)]))
            elif item.get("success"):
                results.append(
                    RecordResult(True, record_id=str(item.get("id") or record.record_id))
                )
            else:
                results.append(RecordResult(False, errors=_errors(item.get("errors"))))
        return BatchOutcome(results)

    async def current_values(
        self, object_name: str, record_ids: list[str], fields: list[str]
    ) -> dict[str, dict[str, Any]]:
        response = await self.client.send(
            "GET",
            f"{self.base}/composite/sobjects/{quote(object_name, safe='')}",
            params={"ids": ",".join(record_ids), "fields": ",".join(["Id", *fields])},
        )
        if response.status != 200:
            classify(response)
            raise ConnectorError(
                "bad_request",
                f"could not read the current {object_name} records for writeOnUpdate ifEmpty:"
                f" HTTP {response.status}",
                status=response.status,
                raw=response.text,
            )
        # Keyed by the 15-character id, so 15- and 18-character ids both find their record;
        # field names are case-insensitive, so values are looked up in lowercase.
        found: dict[str, dict[str, Any]] = {}
        for item in response.json() or []:
            if isinstance(item, dict):
                lowered = {k.lower(): v for k, v in item.items()}
                found[str(lowered.get("id"))[:15]] = lowered
        return {
            record_id: {f: found[record_id[:15]].get(f.lower()) for f in fields}
            for record_id in record_ids
            if record_id[:15] in found
        }

    async def reconcile(
        self,
        object_name: str,
        records: list[PlannedRecord],
        match_fields: list[str],
        since: datetime,
    ) -> list[Verdict]:
        """Salesforce has no unique values to lean on: records are looked up with SOQL by the
        installation's reconcileFields among those created since `since` (SOQL reads are
        consistent: a record not found was not created)."""
        keys = [match_key(r, match_fields) for r in records]
        wanted: dict[tuple[str, ...], list[Any]] = {}
        for record, key in zip(records, keys, strict=True):
            if key is not None:
                wanted.setdefault(key, [record.fields[f] for f in match_fields])
        found: dict[tuple[str, ...], list[str]] = {}
        values = list(wanted.values())
        for start in range(0, len(values), 100):
            chunk = values[start : start + 100]
            found.update(await self._created_since(object_name, match_fields, chunk, since))
        verdicts = []
        how = f"its {', '.join(match_fields)}"
        for key in keys:
            ids = found.get(key, []) if key is not None else []
            if key is None:
                verdicts.append(no_match_fields(match_fields))
            elif len(ids) == 1:
                verdicts.append(Verdict(record_id=ids[0], how=how))
            elif not ids:
                verdicts.append(Verdict(send=True))
            else:
                verdicts.append(
                    Verdict(reason=f"{len(ids)} records created since then match {how}")
                )
        return verdicts

    async def _created_since(
        self, object_name: str, fields: list[str], values: list[list[Any]], since: datetime
    ) -> dict[tuple[str, ...], list[str]]:
        """Ids of records created since `since` with one of the `values`, by match key."""
        created = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if len(fields) == 1:
            listed = ", ".join(soql_literal(v[0]) for v in values)
            matching = f"{fields[0]} IN ({listed})"
        else:
            matching = " OR ".join(
                "("
                + " AND ".join(f"{f} = {soql_literal(x)}" for f, x in zip(fields, v, strict=True))
                + ")"
                for v in values
            )
        query = (
            f"SELECT Id, {', '.join(fields)} FROM {object_name}"
            f" WHERE CreatedDate >= {created} AND ({matching})"
        )
        response = await self.client.send("GET", f"{self.base}/query", params={"q": query})
        if response.status != 200:
            errors = classify(response)
            raise ConnectorError(
                "bad_request",
                f"could not look for {object_name} records of a lost answer: {errors[0].message}",
                status=response.status,
                raw=response.text,
            )
        found: dict[tuple[str, ...], list[str]] = {}
        for row in (response.json() or {}).get("records") or []:
            lowered = {k.lower(): v for k, v in row.items()}
            key = tuple(str(lowered.get(f.lower())).casefold() for f in fields)
            found.setdefault(key, []).append(str(lowered.get("id")))
        return found

    async def describe_object(self, object_name: str) -> ObjectInfo:
        """The object's fields, from its sObject describe; UnknownObject if the org has none."""
        response = await self.client.send("GET", self._object_url(object_name) + "describe")
        body = response.json()
        if response.status == 200 and isinstance(body, dict):
            return object_info(body)
        errors = classify(response)  # raises for limits, outages
        if response.status == 404 or errors[0].code in ("NOT_FOUND", "INVALID_TYPE"):
            raise UnknownObject("salesforce", object_name, errors[0].message)
        raise ConnectorError(
            "forbidden" if response.status == 403 else "bad_request",
            f"Salesforce answered {response.status}: {errors[0].message}",
            status=response.status,
            raw=response.text,
            code=errors[0].code,
        )


def soql_literal(value: Any) -> str:
    """A SOQL literal for a field value from a record."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    escaped = (
        str(value)
        .replace("\\", "\\\\")
        .replace("'", "\\'")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f"'{escaped}'"


def _per_record(body: list[Any]) -> bool:
    return all(isinstance(item, dict) and "success" in item for item in body) and bool(body)

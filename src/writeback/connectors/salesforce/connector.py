"""Salesforce REST: sObject create/update/delete, sObject Collections for batches."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from writeback.connectors.client import ProviderClient
from writeback.connectors.contract import (
    BatchOutcome,
    ConnectorError,
    RecordError,
    RecordResult,
    WriteHeaders,
)
from writeback.connectors.http import HttpResponse, retry_after_seconds
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
        self, object_name: str, record: PlannedRecord, headers: WriteHeaders
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


def _per_record(body: list[Any]) -> bool:
    return all(isinstance(item, dict) and "success" in item for item in body) and bool(body)

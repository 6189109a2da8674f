"""HubSpot CRM v3 objects, batches, and v4 associations."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
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
from writeback.connectors.hubspot import properties
from writeback.connectors.hubspot.associations import target_type
from writeback.connectors.metadata import ObjectInfo, UnknownObject
from writeback.writes.planning import PlannedRecord, is_empty

UNPROCESSED = "record was not processed due to other records failures"
EXISTING_ID = re.compile(r"Existing ID: (\d+)")
SEARCH_LAG = timedelta(seconds=30)


def _error_list(body: Any) -> list[RecordError]:
    """Errors of HubSpot's envelope: `errors[]` when it has them, else its `message`."""
    if not isinstance(body, dict):
        return []
    detailed = [
        RecordError(str(e.get("message")), e.get("code") or body.get("category"), _props(e))
        for e in body.get("errors") or []
        if isinstance(e, dict) and e.get("message")
    ]
    if detailed:
        return detailed
    if body.get("message"):
        return [RecordError(str(body["message"]), body.get("category"))]
    return []


def _props(error: dict[str, Any]) -> list[str] | None:
    names = (error.get("context") or {}).get("propertyName")
    return list(names) if isinstance(names, list) else None


def classify(response: HttpResponse) -> list[RecordError]:
    """Raise for failures of the call as a whole; return the record errors otherwise."""
    body = response.json()
    errors = _error_list(body)
    message = errors[0].message if errors else f"HTTP {response.status}"
    if response.status == 429:
        retry_after = retry_after_seconds(response.headers)
        if retry_after is None:
            interval = response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")
            retry_after = float(interval) / 1000 if interval and interval.isdigit() else None
        policy = body.get("policyName") if isinstance(body, dict) else None
        raise ConnectorError(
            "rate_limited",
            f"HubSpot rate limit{f' ({policy})' if policy else ''}: {message}",
            status=429,
            raw=response.text,
            retry_after=retry_after,
        )
    if response.status >= 500:
        raise ConnectorError(
            "provider_5xx",
            f"HubSpot answered {response.status}: {message}",
            status=response.status,
            raw=response.text,
            retry_after=retry_after_seconds(response.headers),
            sent=True,  # a gateway's 504 leaves the outcome unknown
        )
    if not errors:
        errors = [RecordError(f"HubSpot answered HTTP {response.status}: {response.text[:500]}")]
    return errors


class HubSpotConnector:
    provider = "hubspot"

    def __init__(self, client: ProviderClient, base_url: str) -> None:
        self.client = client
        self.base = base_url.rstrip("/")

    def _objects(self, object_name: str) -> str:
        return f"{self.base}/crm/v3/objects/{quote(object_name, safe='')}"

    def _failed(self, response: HttpResponse) -> RecordResult:
        return RecordResult(False, errors=classify(response), raw=response.text)

    async def create(
        self,
        object_name: str,
        record: PlannedRecord,
        headers: WriteHeaders,
        *,
        adopt_since: datetime | None = None,
    ) -> RecordResult:
        body: dict[str, Any] = {"properties": record.fields}
        if record.associations:
            body["associations"] = record.associations  # inline: no follow-up call needed
        response = await self.client.send("POST", self._objects(object_name), json=body)
        if response.status in (200, 201):
            data = response.json() or {}
            return RecordResult(True, record_id=str(data.get("id")), data=data)
        result = self._failed(response)
        if adopt_since is not None:
            [result] = await self._adopt(object_name, [result], adopt_since)
        return result

    async def update(
        self, object_name: str, record: PlannedRecord, headers: WriteHeaders
    ) -> RecordResult:
        assert record.record_id is not None
        url = f"{self._objects(object_name)}/{quote(record.record_id, safe='')}"
        response = await self.client.send("PATCH", url, json={"properties": record.fields})
        if response.status != 200:
            return self._failed(response)
        result = RecordResult(True, record_id=record.record_id, data=response.json())
        if record.associations:
            result.warnings.extend(await self._associate(object_name, [record]))
        return result

    async def delete(self, object_name: str, record_id: str, headers: WriteHeaders) -> RecordResult:
        url = f"{self._objects(object_name)}/{quote(record_id, safe='')}"
        response = await self.client.send("DELETE", url)
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
        if write_type == "create":
            outcome = await self._batch_create(
                object_name, records, all_or_none and adopt_since is None
            )
            if adopt_since is not None:
                outcome.results = await self._adopt(object_name, outcome.results, adopt_since)
            return outcome
        return await self._batch_update(object_name, records)

    async def _batch_create(
        self, object_name: str, records: list[PlannedRecord], all_or_none: bool
    ) -> BatchOutcome:
        inputs = []
        for index, record in enumerate(records):
            item: dict[str, Any] = {"properties": record.fields}
            if record.associations:
                item["associations"] = record.associations
            if not all_or_none:
                # a trace id per input lets HubSpot succeed partially (207)
                item["objectWriteTraceId"] = str(index)
            inputs.append(item)
        response = await self.client.send(
            "POST", f"{self._objects(object_name)}/batch/create", json={"inputs": inputs}
        )
        body = response.json()
        if response.status not in (200, 201, 207) or not isinstance(body, dict):
            return _all_failed(records, classify(response))
        failed_by_trace: dict[int, list[RecordError]] = defaultdict(list)
        unmatched: list[RecordError] = []
        for error in body.get("errors") or []:
            traces = (error.get("context") or {}).get("objectWriteTraceId") or []
            for found in _error_list(error) or [RecordError("failed")]:
                if traces:
                    for trace in traces:
                        failed_by_trace[int(trace)].append(found)
                else:
                    unmatched.append(found)
        successes = iter(body.get("results") or [])
        results = []
        for index in range(len(records)):
            if index in failed_by_trace:
                results.append(RecordResult(False, errors=failed_by_trace[index]))
                continue
            created = next(successes, None)  # results come back in input order
            if created is None:
                results.append(RecordResult(False, errors=unmatched or [RecordError(UNPROCESSED)]))
            else:
                results.append(
                    RecordResult(
                        True, record_id=str(created.get("id")), data=created.get("properties")
                    )
                )
        return BatchOutcome(results, errors=unmatched)

    async def _batch_update(self, object_name: str, records: list[PlannedRecord]) -> BatchOutcome:
        inputs = [{"id": r.record_id, "properties": r.fields} for r in records]
        response = await self.client.send(
            "POST", f"{self._objects(object_name)}/batch/update", json={"inputs": inputs}
        )
        body = response.json()
        if response.status not in (200, 207) or not isinstance(body, dict):
            return _all_failed(records, classify(response))
        updated = {str(r.get("id")): r for r in body.get("results") or [] if isinstance(r, dict)}
        failed_by_id: dict[str, list[RecordError]] = defaultdict(list)
        unmatched: list[RecordError] = []
        for error in body.get("errors") or []:
            ids = (error.get("context") or {}).get("ids") or []
            for found in _error_list(error) or [RecordError("failed")]:
                for record_id in ids:
                    failed_by_id[str(record_id)].append(found)
                if not ids:
                    unmatched.append(found)
        results = []
        for record in records:
            key = str(record.record_id)
            if key in updated:
                results.append(
                    RecordResult(True, record_id=key, data=updated[key].get("properties"))
                )
            else:
                errors = failed_by_id.get(key) or unmatched or [RecordError(UNPROCESSED)]
                results.append(RecordResult(False, errors=errors))
        succeeded = [r for r, res in zip(records, results, strict=True) if res.success]
        warnings = await self._associate(object_name, [r for r in succeeded if r.associations])
        return BatchOutcome(results, errors=unmatched + warnings)

    async def _associate(self, object_name: str, records: list[PlannedRecord]) -> list[RecordError]:
        """Associations after an update, grouped by target type; failures become warnings."""
        if not records:
            return []
        by_target: dict[str, list[dict[str, Any]]] = defaultdict(list)
        warnings = []
        for record in records:
            for association in record.associations or []:
                target = target_type(association)
                if target is None:
                    warnings.append(
                        RecordError(
                            f"association of record {record.record_id} skipped: its types name no"
                            " known HUBSPOT_DEFINED associationTypeId",
                            "UNRESOLVED_ASSOCIATION_TYPE",
                        )
                    )
                    continue
                by_target[target].append(
                    {
                        "from": {"id": record.record_id},
                        "to": association.get("to"),
                        "types": association.get("types"),
                    }
                )
        for target, inputs in by_target.items():
            url = (
                f"{self.base}/crm/v4/associations/{quote(object_name, safe='')}/"
                f"{target}/batch/create"
            )
            response = await self.client.send("POST", url, json={"inputs": inputs})
            body = response.json()
            if response.status in (200, 201, 207) and isinstance(body, dict):
                for error in body.get("errors") or []:
                    warnings.extend(_error_list(error))
            else:
                warnings.extend(classify(response))
        return warnings

    async def current_values(
        self, object_name: str, record_ids: list[str], fields: list[str]
    ) -> dict[str, dict[str, Any]]:
        response = await self.client.send(
            "POST",
            f"{self._objects(object_name)}/batch/read",
            json={"properties": fields, "inputs": [{"id": i} for i in record_ids]},
        )
        body = response.json()
        if response.status not in (200, 207) or not isinstance(body, dict):
            classify(response)
            raise ConnectorError(
                "bad_request",
                f"could not read the current {object_name} records for writeOnUpdate ifEmpty",
                status=response.status,
                raw=response.text,
            )
        return {
            str(item.get("id")): {f: (item.get("properties") or {}).get(f) for f in fields}
            for item in body.get("results") or []
            if isinstance(item, dict)
        }

    # --- a create whose answer was lost ----------------------------------------------

    async def reconcile(
        self,
        object_name: str,
        records: list[PlannedRecord],
        match_fields: list[str],
        since: datetime,
    ) -> list[Verdict]:
        """A record holding a unique property value (a contact's email, any property created
        with hasUniqueValue) is sent again: HubSpot refuses a second record with that value and
        names the first, which is then taken. Others are looked up by the installation's
        reconcileFields with the search API."""
        unique = await self._unique_properties(object_name)
        verdicts: list[Verdict | None] = []
        for record in records:
            held = [p for p in unique if not is_empty(record.fields.get(p))]
            verdicts.append(Verdict(send=True, adopt=True) if held else None)
        searching = [i for i, v in enumerate(verdicts) if v is None]
        if searching:
            found = await self._search_created(
                object_name, [records[i] for i in searching], match_fields, since
            )
            for index, verdict in zip(searching, found, strict=True):
                verdicts[index] = verdict
        return [v for v in verdicts if v is not None]

    async def _unique_properties(self, object_name: str) -> list[str]:
        if object_name.lower() in ("contacts", "contact", "0-1"):
            return ["email"]  # unique in every portal; no need to ask
        response = await self.client.send(
            "GET", f"{self.base}/crm/v3/properties/{quote(object_name, safe='')}"
        )
        if response.status != 200:
            classify(response)
            return []
        body = response.json() or {}
        return [
            str(p["name"])
            for p in body.get("results") or []
            if isinstance(p, dict) and p.get("hasUniqueValue") and p.get("name")
        ]

    async def _search_created(
        self,
        object_name: str,
        records: list[PlannedRecord],
        match_fields: list[str],
        since: datetime,
    ) -> list[Verdict]:
        keys = [match_key(r, match_fields) for r in records]
        verdicts = []
        how = f"its {', '.join(match_fields)}"
        # HubSpot's search index lags writes by a few seconds: "not found" only counts for
        # an attempt older than that
        settled = datetime.now(UTC) - since > SEARCH_LAG
        for record, key in zip(records, keys, strict=True):
            if key is None:
                verdicts.append(no_match_fields(match_fields))
                continue
            filters = [
                {"propertyName": f, "operator": "EQ", "value": str(record.fields[f])}
                for f in match_fields
            ]
            filters.append(
                {
                    "propertyName": "createdate",
                    "operator": "GTE",
                    "value": str(int(since.timestamp() * 1000)),
                }
            )
            response = await self.client.send(
                "POST",
                f"{self._objects(object_name)}/search",
                json={
                    "filterGroups": [{"filters": filters}],
                    "properties": match_fields,
                    "limit": 2,
                },
            )
            body = response.json()
            if response.status != 200 or not isinstance(body, dict):
                errors = classify(response)
                raise ConnectorError(
                    "bad_request",
                    f"could not search {object_name} for a lost answer: {errors[0].message}",
                    status=response.status,
                    raw=response.text,
                )
            ids = [str(r.get("id")) for r in body.get("results") or [] if isinstance(r, dict)]
            if len(ids) == 1:
                verdicts.append(Verdict(record_id=ids[0], how=how))
            elif len(ids) > 1:
                verdicts.append(Verdict(reason=f"several records created since then match {how}"))
            elif settled:
                verdicts.append(Verdict(send=True))
            else:
                verdicts.append(
                    Verdict(
                        later=True,
                        reason="HubSpot's search may not show a record created seconds ago",
                    )
                )
        return verdicts

    async def _adopt(
        self, object_name: str, results: list[RecordResult], since: datetime
    ) -> list[RecordResult]:
        """Refusals that name an existing record with the same unique value: if that record
        was created since `since`, the lost attempt created it — take it as this create's."""
        named = {i: _existing_id(r) for i, r in enumerate(results) if not r.success}
        named = {i: n for i, n in named.items() if n is not None}
        if not named:
            return results
        created = await self._created_times(object_name, sorted(set(named.values())))
        adopted = list(results)
        for index, record_id in named.items():
            when = created.get(record_id)
            if when is not None and when >= since:
                adopted[index] = RecordResult(
                    True,
                    record_id=record_id,
                    warnings=[
                        RecordError(
                            f"record {record_id} was created by an earlier attempt whose answer"
                            " was lost (HubSpot refused a second one with the same unique"
                            " value); it is this write's record",
                            "RECONCILED",
                        )
                    ],
                )
        return adopted

    async def _created_times(self, object_name: str, ids: list[str]) -> dict[str, datetime]:
        response = await self.client.send(
            "POST",
            f"{self._objects(object_name)}/batch/read",
            json={"properties": [], "inputs": [{"id": i} for i in ids]},
        )
        body = response.json()
        if response.status not in (200, 207) or not isinstance(body, dict):
            classify(response)
            return {}
        times = {}
        for item in body.get("results") or []:
            stamp = item.get("createdAt") if isinstance(item, dict) else None
            if stamp:
                times[str(item.get("id"))] = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        return times

    async def describe_object(self, object_name: str) -> ObjectInfo:
        """The object's property definitions; UnknownObject if the portal has no such object."""
        response = await self.client.send(
            "GET", f"{self.base}/crm/v3/properties/{quote(object_name, safe='')}"
        )
        body = response.json()
        if response.status == 200 and isinstance(body, dict):
            return properties.object_info(object_name, body)
        errors = classify(response)  # raises for limits, outages
        message = errors[0].message
        if response.status == 404 or "Unable to infer object type" in message:
            raise UnknownObject("hubspot", object_name, message)
        raise ConnectorError(
            "forbidden" if response.status == 403 else "bad_request",
            f"HubSpot answered {response.status}: {message}",
            status=response.status,
            raw=response.text,
            code=errors[0].code,
        )


def _existing_id(result: RecordResult) -> str | None:
    for error in result.errors:
        found = EXISTING_ID.search(error.message)
        if found:
            return found.group(1)
    return None


def _all_failed(records: list[PlannedRecord], errors: list[RecordError]) -> BatchOutcome:
    """HubSpot refused the batch as a whole and does not say which record caused it: each
    record says so, and the provider's own errors are the batch's."""
    summary = "; ".join(e.message for e in errors) or "no reason given"
    per_record = RecordError(
        f"not written: HubSpot refused the whole batch ({summary})", "BATCH_REFUSED"
    )
    return BatchOutcome([RecordResult(False, errors=[per_record]) for _ in records], errors=errors)

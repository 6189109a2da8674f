"""Synchronous and asynchronous clients (httpx)."""

from __future__ import annotations

from typing import Any, Literal

import httpx

from writeback.client.errors import error_for
from writeback.client.models import AcceptedWrite, BatchWriteResult, Issue, WriteResult

WriteType = Literal["create", "update", "delete"]
Result = WriteResult | BatchWriteResult | AcceptedWrite


def build_body(
    group_ref: str,
    type: WriteType,
    *,
    record: dict[str, Any] | None,
    batch: list[dict[str, Any]] | None,
    mode: str | None,
    associations: list[dict[str, Any]] | None,
    headers: dict[str, str] | None,
    all_or_none: bool | None,
    extra: dict[str, Any],
) -> dict[str, Any]:
    body: dict[str, Any] = {"groupRef": group_ref, "type": type}
    if mode:
        body["mode"] = mode
    if record is not None:
        body["record"] = record
    if batch is not None:
        # accept plain records or {"record": ..., "associations": ...} items
        body["batch"] = [item if "record" in item else {"record": item} for item in batch]
    if associations is not None:
        body["associations"] = associations
    if headers:
        body["headers"] = [{"key": k, "value": v} for k, v in headers.items()]
    if all_or_none is not None:
        body["batchPolicy"] = {"allOrNone": all_or_none}
    body.update(extra)
    return body


def parse_reply(response: httpx.Response, batch: bool) -> Result:
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if response.status_code == 200 and isinstance(body, dict):
        if "result" not in body and "successCount" not in body:
            return AcceptedWrite(str(body.get("operationId")))
        if batch:
            return BatchWriteResult.parse(body)
        result = body.get("result") or {}
        return WriteResult(
            operation_id=str(body.get("operationId")),
            record_id=result.get("recordId"),
            data=result.get("data"),
            warnings=Issue.parse(body.get("warnings")),
        )
    retry_after = response.headers.get("Retry-After")
    raise error_for(response.status_code, body, batch, float(retry_after) if retry_after else None)


class _Base:
    def __init__(self, base_url: str, api_key: str, project: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.project = project

    def _path(self, integration: str, object_name: str) -> str:
        return f"/v1/projects/{self.project}/integrations/{integration}/objects/{object_name}"


class WritebackClient(_Base):
    """Blocking client. Use as a context manager, or call `close()`."""

    def __init__(self, base_url: str, api_key: str, project: str, timeout: float = 60) -> None:
        super().__init__(base_url, api_key, project)
        self._http = httpx.Client(
            base_url=self.base_url, headers={"X-Api-Key": api_key}, timeout=timeout
        )

    def __enter__(self) -> WritebackClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def write(
        self,
        integration: str,
        object_name: str,
        *,
        group_ref: str,
        type: WriteType,
        record: dict[str, Any] | None = None,
        batch: list[dict[str, Any]] | None = None,
        mode: str | None = None,
        associations: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        all_or_none: bool | None = None,
        **extra: Any,
    ) -> Result:
        body = build_body(
            group_ref,
            type,
            record=record,
            batch=batch,
            mode=mode,
            associations=associations,
            headers=headers,
            all_or_none=all_or_none,
            extra=extra,
        )
        response = self._http.post(self._path(integration, object_name), json=body)
        return parse_reply(response, batch is not None)

    def operation(self, operation_id: str) -> dict[str, Any]:
        response = self._http.get(f"/v1/projects/{self.project}/operations/{operation_id}")
        if response.status_code != 200:
            raise error_for(response.status_code, response.json(), False, None)
        return dict(response.json())


class AsyncWritebackClient(_Base):
    """asyncio client. Use as an async context manager, or `await aclose()`."""

    def __init__(self, base_url: str, api_key: str, project: str, timeout: float = 60) -> None:
        super().__init__(base_url, api_key, project)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers={"X-Api-Key": api_key}, timeout=timeout
        )

    async def __aenter__(self) -> AsyncWritebackClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def write(
        self,
        integration: str,
        object_name: str,
        *,
        group_ref: str,
        type: WriteType,
        record: dict[str, Any] | None = None,
        batch: list[dict[str, Any]] | None = None,
        mode: str | None = None,
        associations: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        all_or_none: bool | None = None,
        **extra: Any,
    ) -> Result:
        body = build_body(
            group_ref,
            type,
            record=record,
            batch=batch,
            mode=mode,
            associations=associations,
            headers=headers,
            all_or_none=all_or_none,
            extra=extra,
        )
        response = await self._http.post(self._path(integration, object_name), json=body)
        return parse_reply(response, batch is not None)

    async def operation(self, operation_id: str) -> dict[str, Any]:
        response = await self._http.get(f"/v1/projects/{self.project}/operations/{operation_id}")
        if response.status_code != 200:
            raise error_for(response.status_code, response.json(), False, None)
        return dict(response.json())

"""Synchronous writes, start to finish: validate, plan, call the provider, record, answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from writeback.api.problems import ApiProblem, issue
from writeback.catalog import provider_urls
from writeback.connectors.client import ProviderClient
from writeback.connectors.contract import Connector, ConnectorError, RecordError, RecordResult
from writeback.connectors.credentials import NO_PROVIDER_APP, CredentialStore
from writeback.connectors.http import ProviderHttp
from writeback.connectors.hubspot.connector import HubSpotConnector
from writeback.connectors.salesforce.connector import SalesforceConnector
from writeback.connectors.salesforce.instance import InstanceUrlError, instance_url
from writeback.control.config_content import ConfigContent, WriteConfigObject, parse_content
from writeback.operations.records import add_log, finish_operation, start_operation
from writeback.writes.mapping import WriteMapping, build_mapping, resolve_write_object
from writeback.writes.outcome import WriteOutcome, response_body
from writeback.writes.planning import PlannedRecord, is_empty, plan_record
from writeback.writes.request import WriteRequest
from writeback.writes.target import WriteTarget, load_target
from writeback.writes.validity import RequestIssue, check_request


@dataclass
class WriteReply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def _problem(issues: list[RequestIssue]) -> ApiProblem:
    first = issues[0]
    return ApiProblem(
        400,
        f"{first.name}: {first.detail}"
        + (f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""),
        remedy=first.remedy,
        issues=[issue("body", i.name, i.detail, i.value, remedy=i.remedy) for i in issues],
    )


@dataclass
class PreparedWrite:
    target: WriteTarget
    object_name: str  # the provider object
    settings: WriteConfigObject
    mapping: WriteMapping | None
    records: list[PlannedRecord]


class WriteService:
    def __init__(
        self,
        sessions: async_sessionmaker,
        http: ProviderHttp,
        credentials: CredentialStore,
        sandbox: str | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.sessions = sessions
        self.http = http
        self.credentials = credentials

    # --- preparing ---------------------------------------------------------------

    async def prepare(
        self, project_id: str, integration_ref: str, url_object: str, request: WriteRequest
    ) -> PreparedWrite:
        async with self.sessions() as session:
            target = await load_target(session, project_id, integration_ref, request.groupRef)
        issues = check_request(request, target.provider)
        if issues:
            raise _problem(issues)
        write_object, known = resolve_write_object(target.revision_content, url_object)
        if write_object is None:
            raise ApiProblem(
                404,
                f"{url_object!r} is not a write object of integration {target.integration.name!r}.",
                remedy="Write to one of: "
                + (", ".join(known) or "none (add write.objects to amp.yaml)")
                + ".",
                issues=[issue("path", "objectName", "not a write object", url_object)],
            )
        object_name = str(write_object["objectName"])
        content, _ = parse_content(target.config.content)
        settings = _write_settings(content, object_name)
        if settings is None:
            raise ApiProblem(
                409,
                f"Writes to {object_name!r} are not enabled in group {request.groupRef!r}'s"
                " installation.",
                remedy="Add the object to the installation config: PATCH …/objects/"
                f'{object_name}/config-content with {{"action": "write", "changes": [{{"op":'
                f' "add", "path": "/objectName", "value": "{object_name}"}}]}}.',
            )
        if request.type == "delete" and not settings.deletion_enabled:
            raise ApiProblem(
                409,
                f"Deletes of {object_name!r} are not enabled for group {request.groupRef!r}.",
                remedy='Enable them in the installation config: {"op": "add", "path":'
                ' "/deletionSettings", "value": {"enabled": true}} on the write object.',
            )
        mapping = (
            build_mapping(target.revision_content, target.config.content, object_name)
            if write_object.get("inheritMapping")
            else None
        )
        records = [
            plan_record(item.record, request.type, settings, mapping, item.associations)
            for item in request.items()
        ]
        return PreparedWrite(target, object_name, settings, mapping, records)

    # --- executing ---------------------------------------------------------------

    def connector(self, target: WriteTarget) -> tuple[Connector, ProviderClient]:
        client = ProviderClient(self.http, self.credentials, target.connection)
        if target.provider == "salesforce":
            try:
                base = instance_url(
                    target.connection.provider_metadata,
                    target.connection.provider_workspace_ref,
                    self.sandbox,
                )
            except InstanceUrlError as exc:
                raise ApiProblem(
                    409,
                    f"The Salesforce connection's instance URL is not usable: {exc}.",
                    remedy="Re-import the connection with the token response's instance_url.",
                ) from exc
            return SalesforceConnector(client, base), client
        urls = provider_urls(target.provider, self.sandbox)
        assert urls is not None
        return HubSpotConnector(client, urls.base_url), client

    async def execute(self, prepared: PreparedWrite, request: WriteRequest) -> WriteOutcome:
        connector, client = self.connector(prepared.target)
        headers = [(h.key, h.value) for h in request.headers or []]
        outcome = WriteOutcome(batch=request.batch is not None, results=[])
        if headers and prepared.target.provider != "salesforce":
            outcome.warnings.append(
                RecordError(
                    f"headers are not forwarded to {prepared.target.provider}; only Salesforce"
                    " takes request headers",
                    "HEADERS_IGNORED",
                )
            )
            headers = []
        try:
            if request.type == "update":
                await self._drop_non_empty(connector, prepared)
            outcome.results, batch_errors = await self._call(connector, prepared, request, headers)
            outcome.errors.extend(batch_errors)
        except ConnectorError as exc:
            outcome.failure = exc
            outcome.results = [RecordResult(False) for _ in prepared.records]
        outcome.provider_calls = client.calls
        return outcome

    async def _call(
        self,
        connector: Connector,
        prepared: PreparedWrite,
        request: WriteRequest,
        headers: list[tuple[str, str]],
    ) -> tuple[list[RecordResult], list[RecordError]]:
        name = prepared.object_name
        records = prepared.records
        if request.type == "delete":
            assert records[0].record_id is not None
            return [await connector.delete(name, records[0].record_id, headers)], []
        # An update left with nothing to write (field settings dropped every field) changes
        # nothing: it succeeds without a provider call, which would reject an empty update.
        pending = [
            i
            for i, r in enumerate(records)
            if request.type == "create" or r.fields or r.associations
        ]
        results: list[RecordResult | None] = [
            None if i in pending else _unchanged(records[i]) for i in range(len(records))
        ]
        errors: list[RecordError] = []
        if pending and request.batch is not None:
            assert request.type in ("create", "update")
            batch = await connector.batch(
                request.type, name, [records[i] for i in pending], request.all_or_none, headers
            )
            for index, result in zip(pending, batch.results, strict=True):
                results[index] = result
            errors = batch.errors
        elif pending:
            call = connector.create if request.type == "create" else connector.update
            results[0] = await call(name, records[0], headers)
        return [r for r in results if r is not None], errors

    @staticmethod
    async def _drop_non_empty(connector: Connector, prepared: PreparedWrite) -> None:
        """`writeOnUpdate: ifEmpty`: one read for the whole request, then drop filled fields."""
        wanted = sorted({f for r in prepared.records for f in r.if_empty})
        if not wanted:
            return
        ids = [str(r.record_id) for r in prepared.records if r.if_empty]
        current = await connector.current_values(prepared.object_name, ids, wanted)
        for record in prepared.records:
            values = current.get(str(record.record_id), {})
            for name in record.if_empty:
                if not is_empty(values.get(name)):
                    del record.fields[name]

    # --- recording ---------------------------------------------------------------

    async def record(
        self, prepared: PreparedWrite, request: WriteRequest, outcome: WriteOutcome
    ) -> str:
        target = prepared.target
        status = "success" if outcome.succeeded else "failure"
        async with self.sessions() as session, session.begin():
            installation = await session.merge(target.installation, load=False)
            operation = await start_operation(
                session,
                installation,
                action_type="write",
                config_id=target.config.id,
                status=status,
                metadata={
                    "objects": [prepared.object_name],
                    "writeType": request.type,
                    "mode": request.mode,
                    "recordCount": len(prepared.records),
                    "successfulRecordIds": outcome.successful_ids,
                    "providerCalls": outcome.provider_calls,
                },
            )
            summary = outcome.summary(request.type, prepared.object_name)
            finish_operation(operation, installation, status, summary)
            add_log(
                session,
                operation,
                "INFO" if outcome.succeeded else "ERROR",
                summary,
                details={
                    "provider": target.provider,
                    "groupRef": target.group.group_ref,
                    "records": str(len(prepared.records)),
                    "providerCalls": str(outcome.provider_calls),
                },
            )
            for index, result in enumerate(outcome.results):
                for error in result.errors if not result.success else []:
                    add_log(
                        session,
                        operation,
                        "ERROR",
                        f"record {index} failed: {error.message}",
                        error=error.code,
                    )
            if outcome.failure is not None:
                add_log(
                    session,
                    operation,
                    "ERROR",
                    outcome.failure.message,
                    error=outcome.failure.error_class,
                )
        if outcome.succeeded:
            await self.credentials.mark_working(target.connection.id)
        return operation.id

    # --- the whole thing -------------------------------------------------------------

    async def write(
        self, project_id: str, integration_ref: str, url_object: str, request: WriteRequest
    ) -> WriteReply:
        if request.mode == "asynchronous":
            raise ApiProblem(
                501,
                "Asynchronous writes are not available on this server yet.",
                remedy='Send "mode": "synchronous" (or leave mode out).',
            )
        prepared = await self.prepare(project_id, integration_ref, url_object, request)
        outcome = await self.execute(prepared, request)
        operation_id = await self.record(prepared, request, outcome)
        if outcome.failure is not None and outcome.failure.code == NO_PROVIDER_APP:
            raise ApiProblem(
                409,
                f"Cannot refresh the customer's {prepared.target.provider} token:"
                f" {outcome.failure.message}.",
                remedy=f"Create a {prepared.target.provider} provider app with the OAuth client"
                " the tokens were issued to (POST /v1/projects/{project}/provider-apps).",
                context={"operationId": operation_id},
            )
        if outcome.failure is not None and outcome.failure.error_class == "auth":
            raise ApiProblem(
                424,
                f"The customer's {prepared.target.provider} connection no longer works:"
                f" {outcome.failure.message}",
                remedy="Ask the customer (group "
                f"{request.groupRef!r}) to reconnect {prepared.target.provider}; the"
                " connection is marked bad_credentials until then.",
                context={
                    "operationId": operation_id,
                    "connectionId": prepared.target.connection.id,
                },
            )
        status, body = response_body(operation_id, outcome)
        headers = {}
        if outcome.failure is not None and outcome.failure.retry_after is not None:
            headers["Retry-After"] = str(int(outcome.failure.retry_after + 0.999))
        return WriteReply(status, body, headers)


def _unchanged(record: PlannedRecord) -> RecordResult:
    return RecordResult(
        True,
        record_id=record.record_id,
        warnings=[
            RecordError(
                f"record {record.record_id}: nothing to write after the field settings"
                " (writeOnUpdate), so the provider was not called",
                "NOTHING_TO_WRITE",
            )
        ],
    )


def _write_settings(content: ConfigContent, object_name: str) -> WriteConfigObject | None:
    if content.write is None:
        return None
    return content.write.objects.get(object_name)

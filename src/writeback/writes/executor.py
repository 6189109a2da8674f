"""Synchronous writes, start to finish: validate, plan, call the provider, record, answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker

from writeback.api.problems import ApiProblem, issue
from writeback.catalog import provider_urls
from writeback.connectors.client import ProviderClient
from writeback.connectors.contract import Connector, ConnectorError, RecordError, RecordResult
from writeback.connectors.credentials import NO_PROVIDER_APP, CredentialStore
from writeback.connectors.http import ProviderHttp
from writeback.connectors.hubspot.connector import HubSpotConnector
from writeback.connectors.salesforce.connector import SalesforceConnector
from writeback.connectors.salesforce.instance import InstanceUrlError, instance_url
from writeback.operations.committer import GroupCommitter
from writeback.operations.queue import add_to_auto_batch, enqueue_write
from writeback.operations.recorder import store_operation
from writeback.writes.outcome import WriteOutcome, response_body
from writeback.writes.planning import PlannedRecord, is_empty, plan_record
from writeback.writes.recording import operation_rows
from writeback.writes.request import WriteRequest
from writeback.writes.target import TargetCache, WriteTarget
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
    records: list[PlannedRecord]


class WriteService:
    def __init__(
        self,
        sessions: async_sessionmaker,
        http: ProviderHttp,
        credentials: CredentialStore,
        committer: GroupCommitter,
        sandbox: str | None = None,
        autobatch_minute_seconds: float = 60.0,
    ) -> None:
        self.sandbox = sandbox
        self.autobatch_minute_seconds = autobatch_minute_seconds
        self.on_enqueued: Callable[[], None] = lambda: None  # the embedded worker's doorbell
        self.http = http
        self.credentials = credentials
        self.committer = committer
        self.targets = TargetCache(sessions)

    def clear_cache(self) -> None:
        self.targets.clear()

    # --- preparing ---------------------------------------------------------------

    async def prepare(
        self, project_id: str, integration_ref: str, url_object: str, request: WriteRequest
    ) -> PreparedWrite:
        resolved = await self.targets.get(project_id, integration_ref, request.groupRef)
        target = resolved.target
        issues = check_request(request, target.provider)
        if issues:
            raise _problem(issues)
        plan = resolved.plan(url_object)
        if plan is None:
            raise ApiProblem(
                404,
                f"{url_object!r} is not a write object of integration {target.integration.name!r}.",
                remedy="Write to one of: "
                + (", ".join(resolved.known_objects) or "none (add write.objects to amp.yaml)")
                + ".",
                issues=[issue("path", "objectName", "not a write object", url_object)],
            )
        name = plan.object_name
        if plan.settings is None:
            raise ApiProblem(
                409,
                f"Writes to {name!r} are not enabled in group {request.groupRef!r}'s installation.",
                remedy="Add the object to the installation config: PATCH …/objects/"
                f'{name}/config-content with {{"action": "write", "changes": [{{"op":'
                f' "add", "path": "/objectName", "value": "{name}"}}]}}.',
            )
        if request.type == "delete" and not plan.settings.deletion_enabled:
            raise ApiProblem(
                409,
                f"Deletes of {name!r} are not enabled for group {request.groupRef!r}.",
                remedy='Enable them in the installation config: {"op": "add", "path":'
                ' "/deletionSettings", "value": {"enabled": true}} on the write object.',
            )
        records = [
            plan_record(item.record, request.type, plan.settings, plan.mapping, item.associations)
            for item in request.items()
        ]
        return PreparedWrite(target, name, records)

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

    # --- asynchronous: accept now, a worker writes later ----------------------------

    async def accept(
        self,
        prepared: PreparedWrite,
        project_id: str,
        integration_ref: str,
        url_object: str,
        request: WriteRequest,
    ) -> str:
        """Commit the operation and its job (or its auto-batch item); return the operation id.
        The request was validated and planned already, so what is queued can be executed."""
        target = prepared.target
        policy = request.autoBatchPolicy
        if policy is not None:
            assert request.record is not None

            async def unit(conn: AsyncConnection) -> str:
                return await add_to_auto_batch(
                    conn,
                    installation=target.installation,
                    config_id=target.config.id,
                    integration_ref=integration_ref,
                    url_object=url_object,
                    object_name=prepared.object_name,
                    write_type=request.type,
                    group_ref=request.groupRef,
                    record=request.record or {},
                    associations=request.associations,
                    max_delay_seconds=policy.maxDelayMinutes * self.autobatch_minute_seconds,
                    retry_deadline_hours=policy.retryDeadlineHours,
                )

        else:
            payload = {
                "projectId": project_id,
                "integrationRef": integration_ref,
                "objectName": url_object,
                "request": request.model_dump(mode="json", exclude_none=True),
            }
            deadline = request.retryPolicy.deadlineHours if request.retryPolicy else 1

            async def unit(conn: AsyncConnection) -> str:
                return await enqueue_write(
                    conn,
                    installation=target.installation,
                    config_id=target.config.id,
                    object_name=prepared.object_name,
                    payload=payload,
                    deadline_hours=deadline,
                    record_count=len(prepared.records),
                )

        operation_id = await self.committer.run(unit)
        self.on_enqueued()
        return operation_id

    # --- the whole thing -------------------------------------------------------------

    async def write(
        self, project_id: str, integration_ref: str, url_object: str, request: WriteRequest
    ) -> WriteReply:
        prepared = await self.prepare(project_id, integration_ref, url_object, request)
        if request.mode == "asynchronous":
            operation_id = await self.accept(
                prepared, project_id, integration_ref, url_object, request
            )
            return WriteReply(200, {"operationId": operation_id}, {})
        outcome = await self.execute(prepared, request)
        rows = operation_rows(prepared.target, prepared.object_name, request, outcome)
        await self.committer.run(lambda conn: store_operation(conn, rows))
        operation_id = str(rows.operation["id"])
        if outcome.succeeded:
            self.credentials.note_working(prepared.target.connection.id)
        problem = _connection_problem(prepared, request, outcome, operation_id)
        if problem is not None:
            raise problem
        status, body = response_body(operation_id, outcome)
        headers = {}
        if outcome.failure is not None and outcome.failure.retry_after is not None:
            headers["Retry-After"] = str(int(outcome.failure.retry_after + 0.999))
        return WriteReply(status, body, headers)


def _connection_problem(
    prepared: PreparedWrite, request: WriteRequest, outcome: WriteOutcome, operation_id: str
) -> ApiProblem | None:
    """A problem+json for failures the caller cannot fix by changing the request."""
    failure, provider = outcome.failure, prepared.target.provider
    if failure is None:
        return None
    if failure.code == NO_PROVIDER_APP:
        return ApiProblem(
            409,
            f"Cannot refresh the customer's {provider} token: {failure.message}.",
            remedy=f"Create a {provider} provider app with the OAuth client the tokens were"
            " issued to (POST /v1/projects/{project}/provider-apps).",
            context={"operationId": operation_id},
        )
    if failure.error_class == "auth":
        return ApiProblem(
            424,
            f"The customer's {provider} connection no longer works: {failure.message}",
            remedy=f"Ask the customer (group {request.groupRef!r}) to reconnect {provider}; the"
            " connection is marked bad_credentials until then.",
            context={"operationId": operation_id, "connectionId": prepared.target.connection.id},
        )
    return None


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

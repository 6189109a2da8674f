"""A write on the provider's side: validate and plan a request against its installation, call
the provider, and recover a write whose previous attempt got no answer.

Nothing here touches the operations log or the queue: operations/ decides when a write runs
and records what happened; `before_send` is its hook to make the attempt durable before the
first call that can change the customer's data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.ext.asyncio import async_sessionmaker

from writeback.connectors.client import ProviderClient
from writeback.connectors.contract import (
    Connector,
    ConnectorError,
    RecordError,
    RecordResult,
    Verdict,
)
from writeback.connectors.credentials import CredentialStore
from writeback.connectors.factory import ConnectionNotUsable, connector_for
from writeback.connectors.http import ProviderHttp
from writeback.writes.errors import (
    FieldIssue,
    InvalidWrite,
    WriteNotAllowed,
    WriteTargetNotFound,
)
from writeback.writes.outcome import WriteOutcome
from writeback.writes.planning import PlannedRecord, is_empty, plan_record
from writeback.writes.request import WriteRequest
from writeback.writes.target import TargetCache, WriteTarget
from writeback.writes.validity import DEFAULT_MAX_FIELD_CHARS, RequestIssue, check_request

# A record the lost attempt created is at least this old (clocks of writeback and providers
# differ a little); anything created earlier existed before the attempt.
CLOCK_SKEW = timedelta(seconds=60)
T = TypeVar("T")
ALREADY_GONE = frozenset({"ENTITY_IS_DELETED", "NOT_FOUND", "INVALID_CROSS_REFERENCE_KEY"})


def _invalid(issues: list[RequestIssue]) -> InvalidWrite:
    first = issues[0]
    return InvalidWrite(
        f"{first.name}: {first.detail}"
        + (f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""),
        remedy=first.remedy,
        issues=[FieldIssue("body", i.name, i.detail, i.value, i.remedy) for i in issues],
    )


@dataclass
class PreparedWrite:
    target: WriteTarget
    object_name: str  # the provider object
    records: list[PlannedRecord]
    reconcile_fields: list[str] = field(default_factory=list)  # provider field names


@dataclass(frozen=True)
class Recovery:
    """An earlier attempt of this write may have reached the provider without an answer."""

    attempt: int
    since: datetime  # when that attempt started: a record it created is not older


BeforeSend = Callable[[list[PlannedRecord]], Awaitable[None]]


class WriteExecutor:
    def __init__(
        self,
        sessions: async_sessionmaker,
        http: ProviderHttp,
        credentials: CredentialStore,
        sandbox: str | None = None,
        *,
        max_field_chars: int = DEFAULT_MAX_FIELD_CHARS,
    ) -> None:
        self.max_field_chars = max_field_chars
        self.sandbox = sandbox
        self.http = http
        self.credentials = credentials
        self.targets = TargetCache(sessions)

    def clear_cache(self) -> None:
        self.targets.clear()

    # --- preparing ---------------------------------------------------------------

    async def prepare(
        self, project_id: str, integration_ref: str, url_object: str, request: WriteRequest
    ) -> PreparedWrite:
        """The request checked against the installation and planned record by record."""
        resolved = await self.targets.get(project_id, integration_ref, request.groupRef)
        target = resolved.target
        issues = check_request(request, target.provider, max_field_chars=self.max_field_chars)
        if issues:
            raise _invalid(issues)
        plan = resolved.plan(url_object)
        if plan is None:
            raise WriteTargetNotFound(
                f"{url_object!r} is not a write object of integration {target.integration.name!r}.",
                remedy="Write to one of: "
                + (", ".join(resolved.known_objects) or "none (add write.objects to amp.yaml)")
                + ".",
                issues=[FieldIssue("path", "objectName", "not a write object", url_object)],
            )
        name = plan.object_name
        if plan.settings is None:
            raise WriteNotAllowed(
                f"Writes to {name!r} are not enabled in group {request.groupRef!r}'s installation.",
                remedy="Add the object to the installation config: PATCH …/objects/"
                f'{name}/config-content with {{"action": "write", "changes": [{{"op":'
                f' "add", "path": "/objectName", "value": "{name}"}}]}}.',
            )
        if request.type == "delete" and not plan.settings.deletion_enabled:
            raise WriteNotAllowed(
                f"Deletes of {name!r} are not enabled for group {request.groupRef!r}.",
                remedy='Enable them in the installation config: {"op": "add", "path":'
                ' "/deletionSettings", "value": {"enabled": true}} on the write object.',
            )
        records = [
            plan_record(item.record, request.type, plan.settings, plan.mapping, item.associations)
            for item in request.items()
        ]
        reconcile = []
        for app_field in plan.settings.reconcileFields or []:
            mapped = plan.mapping.provider_field(app_field) if plan.mapping else app_field
            if mapped is not None:
                reconcile.append(mapped)
        return PreparedWrite(target, name, records, reconcile)

    def connector(self, target: WriteTarget) -> tuple[Connector, ProviderClient]:
        try:
            return connector_for(target.connection, self.http, self.credentials, self.sandbox)
        except ConnectionNotUsable as exc:
            raise WriteNotAllowed(exc.detail, remedy=exc.remedy) from exc

    # --- executing ---------------------------------------------------------------

    async def execute(
        self,
        prepared: PreparedWrite,
        request: WriteRequest,
        *,
        before_send: BeforeSend | None = None,
        recovery: Recovery | None = None,
        resend_unknown_creates: bool = False,
    ) -> WriteOutcome:
        """Call the provider. `before_send` runs (and must succeed) right before the first call
        that can change data. With `recovery`, an earlier attempt may have written already:
        updates and deletes are sent again (they are idempotent); a create is first looked for
        in the CRM, and sent again only where it is certainly absent (or when the project
        prefers at-least-once, `resend_unknown_creates`)."""
        connector, client = self.connector(prepared.target)
        # allow-listed per provider by the validity matrix (writes/forwarded_headers.py)
        headers = [(h.key, h.value) for h in request.headers or []]
        outcome = WriteOutcome(batch=request.batch is not None, results=[], write_type=request.type)
        try:
            if request.type == "update":
                await self._drop_non_empty(connector, prepared)
            if recovery is not None and request.type == "create":
                results, errors, outcome.recheck = await self._recover_create(
                    connector, prepared, request, headers, recovery, before_send,
                    resend_unknown_creates,
                )  # fmt: skip
            else:
                results, errors = await self._call(
                    connector, prepared, request, headers, before_send
                )
                if recovery is not None and request.type == "delete":
                    results = [_gone_is_deleted(results[0], prepared.records[0], recovery)]
            outcome.results, outcome.errors = results, outcome.errors + errors
        except ConnectorError as exc:
            outcome.failure = exc
            outcome.results = [
                RecordResult(False, unknown=exc.outcome_unknown) for _ in prepared.records
            ]
        outcome.provider_calls = client.calls
        return outcome

    async def _call(
        self,
        connector: Connector,
        prepared: PreparedWrite,
        request: WriteRequest,
        headers: list[tuple[str, str]],
        before_send: BeforeSend | None,
    ) -> tuple[list[RecordResult], list[RecordError]]:
        name = prepared.object_name
        records = prepared.records
        if request.type == "delete":
            if before_send is not None:
                await before_send(records)
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
        if pending and before_send is not None:
            await before_send([records[i] for i in pending])
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

    async def _recover_create(
        self,
        connector: Connector,
        prepared: PreparedWrite,
        request: WriteRequest,
        headers: list[tuple[str, str]],
        recovery: Recovery,
        before_send: BeforeSend | None,
        resend_unknown: bool,
    ) -> tuple[list[RecordResult], list[RecordError], bool]:
        """Find what the lost attempt created; send again only what is certainly absent.
        Also returns whether an unknown record may be settled by asking again later."""
        records = prepared.records
        since = recovery.since - CLOCK_SKEW
        try:
            verdicts = await _reads(
                connector.reconcile(prepared.object_name, records, prepared.reconcile_fields, since)
            )
        except ConnectorError as exc:
            if exc.retryable:
                raise  # the lookup may work later
            verdicts = [Verdict(reason=f"looking it up failed ({exc.message})") for _ in records]
        results: list[RecordResult | None] = [None] * len(records)
        resend: list[int] = []
        for index, verdict in enumerate(verdicts):
            if verdict.record_id is not None:
                results[index] = RecordResult(
                    True,
                    record_id=verdict.record_id,
                    warnings=[
                        RecordError(
                            f"attempt {recovery.attempt} created record {verdict.record_id} but"
                            f" its answer was lost; found it by {verdict.how}, not sent again",
                            "RECONCILED",
                        )
                    ],
                )
            elif verdict.send or (resend_unknown and not verdict.later):
                resend.append(index)
            else:
                results[index] = unknown_result(recovery.attempt, verdict)
        errors: list[RecordError] = []
        if resend:
            chosen = [records[i] for i in resend]
            if before_send is not None:
                await before_send(chosen)
            adopt = since if any(verdicts[i].adopt for i in resend) else None
            if request.batch is not None:
                batch = await connector.batch(
                    "create", prepared.object_name, chosen, request.all_or_none, headers,
                    adopt_since=adopt,
                )  # fmt: skip
                sent, errors = batch.results, batch.errors
            else:
                sent = [
                    await connector.create(
                        prepared.object_name, chosen[0], headers, adopt_since=adopt
                    )
                ]
            for index, result in zip(resend, sent, strict=True):
                if not verdicts[index].send:  # resent on the project's at-least-once policy
                    result.warnings.append(
                        RecordError(
                            f"attempt {recovery.attempt}'s answer was lost and the record could"
                            " not be looked for; sent again (deliveryPolicy"
                            " unknownCreateOutcome=resend): it may now exist twice",
                            "RESENT_UNKNOWN",
                        )
                    )
                results[index] = result
        recheck = any(v.later for i, v in enumerate(verdicts) if i not in resend)
        return [r for r in results if r is not None], errors, recheck

    @staticmethod
    async def _drop_non_empty(connector: Connector, prepared: PreparedWrite) -> None:
        """`writeOnUpdate: ifEmpty`: one read for the whole request, then drop filled fields."""
        wanted = sorted({f for r in prepared.records for f in r.if_empty})
        if not wanted:
            return
        ids = [str(r.record_id) for r in prepared.records if r.if_empty]
        current = await _reads(connector.current_values(prepared.object_name, ids, wanted))
        for record in prepared.records:
            values = current.get(str(record.record_id), {})
            for name in record.if_empty:
                if not is_empty(values.get(name)):
                    del record.fields[name]


async def _reads(call: Awaitable[T]) -> T:
    """A call that only reads: if its answer is lost, nothing was written."""
    try:
        return await call
    except ConnectorError as exc:
        exc.sent = False
        raise


def unknown_result(attempt: int, verdict: Verdict) -> RecordResult:
    return RecordResult(
        False,
        unknown=True,
        errors=[
            RecordError(
                f"attempt {attempt} may have created this record, but its answer was lost and"
                f" {verdict.reason}; it was not sent again. Check the CRM for it before"
                " writing it again.",
                "OUTCOME_UNKNOWN",
            )
        ],
    )


def _gone_is_deleted(
    result: RecordResult, record: PlannedRecord, recovery: Recovery
) -> RecordResult:
    """A delete sent again after a lost answer finds the record gone: the first one did it."""
    if result.success or not any(e.code in ALREADY_GONE for e in result.errors):
        return result
    return RecordResult(
        True,
        record_id=record.record_id,
        warnings=[
            RecordError(
                f"the record was already deleted (by attempt {recovery.attempt}, whose answer"
                " was lost)",
                "ALREADY_DELETED",
            )
        ],
    )


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

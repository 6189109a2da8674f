"""Operations: get one, its logs, and a page of an installation's operations (newest first)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import and_, or_, select

from writeback.api.deps import Ctx, CtxDep
from writeback.api.pagination import decode_page_token, encode_page_token
from writeback.api.problems import ApiProblem, not_found
from writeback.api.routes.installations import find_installation
from writeback.api.routes.integrations import find_integration
from writeback.api.serialize import compact, ts
from writeback.operations.replay import NotReplayable, replay
from writeback.store.tables import Operation, OperationLog

router = APIRouter(tags=["operations"])

PROJECT = "/projects/{projectIdOrName}"


def operation_json(operation: Operation) -> dict[str, Any]:
    return compact(
        {
            "id": operation.id,
            "projectId": operation.project_id,
            "integrationId": operation.integration_id,
            "installationId": operation.installation_id,
            "configId": operation.config_id,
            "actionType": operation.action_type,
            "status": operation.status,
            "result": operation.result,
            "metadata": operation.op_metadata,
            "createTime": ts(operation.create_time),
            "updateTime": ts(operation.update_time),
        }
    )


def log_json(log: OperationLog) -> dict[str, Any]:
    return {"timestamp": ts(log.timestamp), "severity": log.severity, "message": log.message}


async def _operation(ctx: Ctx, project_ref: str, operation_id: str) -> Operation:
    project = await ctx.project(project_ref)
    operation = await ctx.session.get(Operation, operation_id)
    if operation is None or operation.project_id != project.id:
        raise not_found(
            "Operation",
            operation_id,
            "Verify the operation ID and project are correct, or list operations to find one.",
        )
    return operation


@router.get(PROJECT + "/operations/{operationId}")
async def get(projectIdOrName: str, operationId: str, ctx: CtxDep) -> dict[str, Any]:
    return operation_json(await _operation(ctx, projectIdOrName, operationId))


@router.post(PROJECT + "/operations/{operationId}:retry", summary="Replay a failed write")
async def retry(projectIdOrName: str, operationId: str, ctx: CtxDep) -> dict[str, Any]:
    """A new attempt of a failed (or outcome-unknown) write, logged on the same operation.
    A create whose last outcome was unknown is looked for first; what cannot be found is sent
    again."""
    operation = await _operation(ctx, projectIdOrName, operationId)
    delivery = ctx.state.delivery
    who = f"API key {ctx.caller.key_id}" if ctx.caller.key_id else "the admin key"
    try:
        await delivery.committer.run(lambda conn: replay(conn, operation, who))
    except NotReplayable as exc:
        raise ApiProblem(
            409,
            str(exc),
            remedy="Replay failed operations only; GET the operation to see its status.",
        ) from exc
    delivery.on_enqueued()
    await ctx.session.refresh(operation)
    return operation_json(operation)


@router.get(PROJECT + "/operations/{operationId}/logs")
async def logs(projectIdOrName: str, operationId: str, ctx: CtxDep) -> list[dict[str, Any]]:
    operation = await _operation(ctx, projectIdOrName, operationId)
    query = (
        select(OperationLog)
        .where(OperationLog.operation_id == operation.id)
        .order_by(OperationLog.id)
    )
    return [log_json(line) for line in (await ctx.session.execute(query)).scalars()]


@router.get(PROJECT + "/integrations/{integrationId}/installations/{installationId}/operations")
async def list_operations(
    projectIdOrName: str,
    integrationId: str,
    installationId: str,
    ctx: CtxDep,
    pageSize: int = Query(default=200, ge=1, le=1000),
    pageToken: str | None = None,
) -> dict[str, Any]:
    project = await ctx.project(projectIdOrName)
    integration = await find_integration(ctx, project.id, integrationId)
    installation = await find_installation(ctx, integration, installationId)
    query = select(Operation).where(Operation.installation_id == installation.id)
    if pageToken:
        created, last_id = decode_page_token(pageToken)
        query = query.where(
            or_(
                Operation.create_time < created,
                and_(Operation.create_time == created, Operation.id < last_id),
            )
        )
    query = query.order_by(Operation.create_time.desc(), Operation.id.desc()).limit(pageSize + 1)
    rows = list((await ctx.session.execute(query)).scalars())
    page, more = rows[:pageSize], len(rows) > pageSize
    pagination: dict[str, Any] = {"done": not more}
    if more:
        pagination["nextPageToken"] = encode_page_token(page[-1].create_time, page[-1].id)
    return {"results": [operation_json(o) for o in page], "pagination": pagination}

"""Integrations: deploy an amp.yaml (one revision per integration per deploy), list, get, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import or_, select

from writeback.api.deps import Ctx, CtxDep
from writeback.api.models import RequestBody
from writeback.api.problems import ApiProblem, bad_input, issue, not_found
from writeback.api.routes.connections import delete_unused_connections
from writeback.api.serialize import compact, times, ts
from writeback.control.projects import looks_like_uuid
from writeback.manifest import parse_manifest
from writeback.store.tables import Installation, Integration, Revision

router = APIRouter(tags=["integrations"])

PATH = "/projects/{projectIdOrName}/integrations"


def revision_json(revision: Revision | None) -> dict[str, Any] | None:
    if revision is None:
        return None
    return {
        "id": revision.id,
        "specVersion": revision.spec_version,
        "createTime": ts(revision.create_time),
        "content": revision.content,
    }


def integration_json(integration: Integration, revision: Revision | None) -> dict[str, Any]:
    return compact(
        {
            "id": integration.id,
            "projectId": integration.project_id,
            "name": integration.name,
            "provider": integration.provider,
            **times(integration),
            "latestRevision": revision_json(revision),
        }
    )


class BatchUpsertIntegrations(RequestBody):
    sourceYaml: str | None = None
    sourceZipUrl: str | None = None


async def find_integration(ctx: Ctx, project_id: str, ref: str) -> Integration:
    """An integration of the project by id or by name."""
    condition = Integration.name == ref
    if looks_like_uuid(ref):
        condition = or_(Integration.id == ref.lower(), condition)
    query = select(Integration).where(Integration.project_id == project_id, condition)
    integration = (await ctx.session.execute(query)).scalars().first()
    if integration is None:
        raise not_found(
            "Integration",
            ref,
            "Use an integration id or name from GET …/integrations; deploy amp.yaml to create it.",
        )
    return integration


async def latest_revision(ctx: Ctx, integration: Integration) -> Revision:
    revision = await ctx.session.get(Revision, integration.latest_revision_id)
    assert revision is not None, "an integration always has a revision"
    return revision


def _manifest_problem(result: Any) -> ApiProblem:
    issues = [
        issue("body", "sourceYaml", str(found), line=found.line, path=found.path)
        for found in result.errors
    ]
    first = str(result.errors[0])
    more = f" (and {len(result.errors) - 1} more)" if len(result.errors) > 1 else ""
    return ApiProblem(
        422,
        f"The manifest is not valid: {first}{more}",
        remedy="Fix each problem listed in `issues` (run `writeback validate amp.yaml` locally).",
        issues=issues,
    )


@router.put(PATH + ":batch")
async def deploy(
    projectIdOrName: str, body: BatchUpsertIntegrations, ctx: CtxDep, destructive: bool = False
) -> list[dict[str, Any]]:
    project = await ctx.project(projectIdOrName)
    if body.sourceZipUrl is not None and body.sourceYaml is None:
        raise bad_input(
            "sourceZipUrl",
            "zip uploads are not supported by writeback",
            "Send the manifest text as sourceYaml (`writeback deploy amp.yaml` does this).",
        )
    if body.sourceYaml is None:
        raise bad_input("sourceYaml", "required", "Send the amp.yaml text as sourceYaml.")
    result = parse_manifest(body.sourceYaml, "amp.yaml")
    if result.manifest is None:
        raise _manifest_problem(result)
    deployed = []
    for spec in result.manifest.integrations:
        query = select(Integration).where(
            Integration.project_id == project.id, Integration.name == spec.name
        )
        integration = (await ctx.session.execute(query)).scalars().first()
        if integration is None:
            integration = Integration(project_id=project.id, name=spec.name, provider=spec.provider)
            ctx.session.add(integration)
            await ctx.session.flush()
        elif integration.provider != spec.provider:
            raise bad_input(
                "sourceYaml",
                f"integration {spec.name!r} exists with provider {integration.provider!r};"
                f" a deploy cannot change it to {spec.provider!r}",
                "Give the integration a new name, or delete the old one first.",
                status=422,
            )
        revision = Revision(
            integration_id=integration.id,
            spec_version=result.manifest.spec_version,
            content=spec.content,
        )
        ctx.session.add(revision)
        await ctx.session.flush()
        integration.latest_revision_id = revision.id
        integration.update_time = revision.create_time
        deployed.append((integration, revision))
    await ctx.session.commit()
    return [integration_json(i, r) for i, r in deployed]


@router.get(PATH)
async def list_integrations(projectIdOrName: str, ctx: CtxDep) -> list[dict[str, Any]]:
    project = await ctx.project(projectIdOrName)
    query = (
        select(Integration, Revision)
        .join(Revision, Revision.id == Integration.latest_revision_id)
        .where(Integration.project_id == project.id)
        .order_by(Integration.create_time)
    )
    rows = (await ctx.session.execute(query)).all()
    return [integration_json(i, r) for i, r in rows]


@router.get(PATH + "/{integrationIdOrName}")
async def get(projectIdOrName: str, integrationIdOrName: str, ctx: CtxDep) -> dict[str, Any]:
    project = await ctx.project(projectIdOrName)
    integration = await find_integration(ctx, project.id, integrationIdOrName)
    return integration_json(integration, await latest_revision(ctx, integration))


@router.get(PATH + "/{integrationIdOrName}/revisions")
async def list_revisions(
    projectIdOrName: str, integrationIdOrName: str, ctx: CtxDep
) -> list[dict[str, Any]]:
    project = await ctx.project(projectIdOrName)
    integration = await find_integration(ctx, project.id, integrationIdOrName)
    query = (
        select(Revision)
        .where(Revision.integration_id == integration.id)
        .order_by(Revision.create_time.desc())
    )
    return [revision_json(r) for r in (await ctx.session.execute(query)).scalars()]  # type: ignore[misc]


@router.delete(PATH + "/{integrationIdOrName}", status_code=204)
async def delete(projectIdOrName: str, integrationIdOrName: str, ctx: CtxDep) -> Response:
    project = await ctx.project(projectIdOrName)
    integration = await find_integration(ctx, project.id, integrationIdOrName)
    installed = await ctx.session.execute(
        select(Installation.connection_id).where(Installation.integration_id == integration.id)
    )
    connection_ids = list(installed.scalars())
    # Installations, their configs and operations go with it (ON DELETE CASCADE).
    await ctx.session.delete(integration)
    await ctx.session.flush()
    await delete_unused_connections(ctx.session, connection_ids)
    await ctx.session.commit()
    return Response(status_code=204)

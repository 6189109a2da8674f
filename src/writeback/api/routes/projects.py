"""Projects: create (admin), list, get by id or name, update."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field
from sqlalchemy import select

from writeback.api.auth import require_admin
from writeback.api.deps import CtxDep
from writeback.api.models import RequestBody
from writeback.api.problems import ApiProblem, bad_input
from writeback.api.serialize import compact, times
from writeback.control.projects import (
    PROJECT_NAME_RULE,
    ProjectExistsError,
    ProjectNameError,
    create_project,
    find_project,
    normalize_project_name,
)
from writeback.store.tables import Project

router = APIRouter(tags=["projects"])


def project_json(project: Project) -> dict[str, Any]:
    policy = (project.settings or {}).get("deliveryPolicy") or {}
    return compact(
        {
            "id": project.id,
            "name": project.name,
            "appName": project.app_name,
            "orgId": project.org_id,
            # writeback extension: what happens to a create whose outcome is unknown
            "deliveryPolicy": {"unknownCreateOutcome": "fail", **policy},
            **times(project),
        }
    )


class DeliveryPolicy(RequestBody):
    unknownCreateOutcome: Literal["fail", "resend"] = Field(
        description="A create that may have reached the provider without an answer, and cannot"
        " be looked up: `fail` ends it as outcome_unknown (never a duplicate); `resend` sends"
        " it again (never lost, possibly twice)."
    )


class CreateProject(RequestBody):
    name: str
    appName: str | None = Field(default=None, min_length=1, max_length=128)
    orgId: str | None = None


class ProjectFields(RequestBody):
    name: str | None = None
    appName: str | None = Field(default=None, min_length=1, max_length=128)
    deliveryPolicy: DeliveryPolicy | None = None


class UpdateProject(RequestBody):
    updateMask: list[Literal["name", "appName", "deliveryPolicy"]] = Field(min_length=1)
    project: ProjectFields


def _name_problem(exc: Exception, name: str) -> ApiProblem:
    return bad_input("name", str(exc), f"Use {PROJECT_NAME_RULE}.", name)


@router.post("/projects", status_code=201)
async def create(body: CreateProject, ctx: CtxDep) -> dict[str, Any]:
    require_admin(ctx.caller, "create projects")
    try:
        project = await create_project(ctx.session, body.name, body.appName, body.orgId)
    except ProjectNameError as exc:
        raise _name_problem(exc, body.name) from exc
    except ProjectExistsError as exc:
        raise ApiProblem(409, str(exc), remedy="Choose another name.") from exc
    await ctx.session.commit()
    return project_json(project)


@router.get("/projects")
async def list_projects(ctx: CtxDep) -> list[dict[str, Any]]:
    query = select(Project).order_by(Project.create_time)
    if not ctx.caller.is_admin:
        query = query.where(Project.id == ctx.caller.project_id)
    return [project_json(p) for p in (await ctx.session.execute(query)).scalars()]


@router.get("/projects/{projectIdOrName}")
async def get(projectIdOrName: str, ctx: CtxDep) -> dict[str, Any]:
    return project_json(await ctx.project(projectIdOrName))


@router.patch("/projects/{projectIdOrName}")
async def update(projectIdOrName: str, body: UpdateProject, ctx: CtxDep) -> dict[str, Any]:
    project = await ctx.project(projectIdOrName)
    if "name" in body.updateMask:
        new_name = body.project.name or ""
        try:
            normalized = normalize_project_name(new_name)
        except ProjectNameError as exc:
            raise _name_problem(exc, new_name) from exc
        other = await find_project(ctx.session, normalized)
        if other is not None and other.id != project.id:
            raise ApiProblem(409, f"a project named {normalized!r} already exists")
        project.name = normalized
    if "appName" in body.updateMask:
        if not body.project.appName:
            raise bad_input("project.appName", "required by the update mask", "Send appName.")
        project.app_name = body.project.appName
    if "deliveryPolicy" in body.updateMask:
        if body.project.deliveryPolicy is None:
            raise bad_input(
                "project.deliveryPolicy",
                "required by the update mask",
                'Send {"unknownCreateOutcome": "fail"} or {"unknownCreateOutcome": "resend"}.',
            )
        policy = body.project.deliveryPolicy.model_dump()
        project.settings = {**(project.settings or {}), "deliveryPolicy": policy}
    await ctx.session.commit()
    return project_json(project)

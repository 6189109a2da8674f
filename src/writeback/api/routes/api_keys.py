"""API keys of a project: create (the key is shown once), list, get, update, delete.

Keys carry scopes (control/key_scopes.py); a key can give a new or updated key only scopes it
holds itself, so a `manage` key cannot mint a key that reads customers' tokens."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import Field
from sqlalchemy import select

from writeback.api.deps import Ctx, CtxDep
from writeback.api.models import RequestBody
from writeback.api.problems import bad_input, not_found
from writeback.api.scopes import missing_scope
from writeback.api.serialize import compact, times
from writeback.control.key_scopes import DEFAULT_SCOPES, ScopeError, granted, normalize_scopes
from writeback.control.projects import create_api_key
from writeback.store.tables import ApiKey

router = APIRouter(tags=["api-keys"])


def api_key_json(record: ApiKey, secret: str | None = None) -> dict[str, Any]:
    return compact(
        {
            "id": record.id,
            "key": secret,
            "prefix": record.prefix,
            "label": record.label,
            "scopes": record.scopes,
            "projectId": record.project_id,
            "active": record.active,
            **times(record),
        }
    )


_SCOPES_DOC = (
    "write, read, manage, credentials, or full (all of them). Default: write, read and manage;"
    " `credentials` (connections' raw tokens) must be asked for."
)


class CreateApiKey(RequestBody):
    label: str = Field(min_length=1, max_length=255)
    scopes: list[str] | None = Field(default=None, description=_SCOPES_DOC)


class ApiKeyFields(RequestBody):
    label: str | None = Field(default=None, min_length=1, max_length=255)
    active: bool | None = None
    scopes: list[str] | None = Field(default=None, description=_SCOPES_DOC)


class UpdateApiKey(RequestBody):
    updateMask: list[Literal["active", "label", "scopes"]] = Field(min_length=1)
    apiKey: ApiKeyFields


async def _find(ctx: Ctx, project_ref: str, key_ref: str) -> ApiKey:
    """A key by its id, or by the key itself (Ampersand addresses keys by their value)."""
    project = await ctx.project(project_ref)
    condition = ApiKey.digest == ctx.state.box.digest(key_ref)
    if len(key_ref) == 36:
        condition = ApiKey.id == key_ref
    record = (
        await ctx.session.execute(select(ApiKey).where(condition, ApiKey.project_id == project.id))
    ).scalar_one_or_none()
    if record is None:
        raise not_found("API key", key_ref[:10], "List keys with GET …/api-keys to find its id.")
    return record


def _grantable(ctx: Ctx, scopes: list[str], field: str) -> list[str]:
    """Known scope names the caller may give (400 for unknown ones, 403 for ones it lacks)."""
    try:
        names = normalize_scopes(scopes)
    except ScopeError as exc:
        raise bad_input(
            field, str(exc), "Use write, read, manage, credentials or full.", scopes
        ) from exc
    lacking = sorted(granted(names) - ctx.caller.scopes)
    if lacking:
        raise missing_scope(ctx.caller, lacking, f"giving a key the {', '.join(lacking)} scope")
    return names


@router.post("/projects/{projectIdOrName}/api-keys", status_code=201)
async def create(projectIdOrName: str, body: CreateApiKey, ctx: CtxDep) -> dict[str, Any]:
    project = await ctx.project(projectIdOrName)
    scopes = _grantable(ctx, list(DEFAULT_SCOPES) if body.scopes is None else body.scopes, "scopes")
    new = await create_api_key(
        ctx.session, ctx.state.box, project_id=project.id, label=body.label, scopes=scopes
    )
    await ctx.session.commit()
    return api_key_json(new.record, new.secret)


@router.get("/projects/{projectIdOrName}/api-keys")
async def list_keys(
    projectIdOrName: str, ctx: CtxDep, active: bool | None = None
) -> list[dict[str, Any]]:
    project = await ctx.project(projectIdOrName)
    query = select(ApiKey).where(ApiKey.project_id == project.id).order_by(ApiKey.create_time)
    if active is not None:
        query = query.where(ApiKey.active.is_(active))
    return [api_key_json(k) for k in (await ctx.session.execute(query)).scalars()]


@router.get("/projects/{projectIdOrName}/api-keys/{apiKey}")
async def get(projectIdOrName: str, apiKey: str, ctx: CtxDep) -> dict[str, Any]:
    return api_key_json(await _find(ctx, projectIdOrName, apiKey))


@router.patch("/projects/{projectIdOrName}/api-keys/{apiKey}")
async def update(
    projectIdOrName: str, apiKey: str, body: UpdateApiKey, ctx: CtxDep
) -> dict[str, Any]:
    record = await _find(ctx, projectIdOrName, apiKey)
    for field in body.updateMask:
        value = getattr(body.apiKey, field)
        if value is None:
            raise bad_input(f"apiKey.{field}", "required by the update mask", f"Send {field}.")
        if field == "scopes":
            value = _grantable(ctx, value, "apiKey.scopes")
        setattr(record, field, value)
    await ctx.session.commit()
    return api_key_json(record)


@router.delete("/projects/{projectIdOrName}/api-keys/{apiKey}", status_code=204)
async def delete(projectIdOrName: str, apiKey: str, ctx: CtxDep) -> Response:
    record = await _find(ctx, projectIdOrName, apiKey)
    await ctx.session.delete(record)
    await ctx.session.commit()
    return Response(status_code=204)

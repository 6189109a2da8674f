"""Provider apps (the builder's OAuth clients). `clientSecret` is write-only and encrypted."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import Field
from sqlalchemy import select

from writeback import catalog
from writeback.api.deps import Ctx, CtxDep
from writeback.api.models import RequestBody
from writeback.api.problems import bad_input, not_found
from writeback.api.serialize import compact, times
from writeback.store.tables import ProviderApp

router = APIRouter(tags=["provider-apps"])

PATH = "/projects/{projectIdOrName}/provider-apps"


def provider_app_json(app: ProviderApp) -> dict[str, Any]:
    return compact(
        {
            "id": app.id,
            "projectId": app.project_id,
            "externalRef": app.external_ref,
            "provider": app.provider,
            "clientId": app.client_id,
            "scopes": app.scopes,
            "metadata": app.app_metadata or None,
            **times(app),
        }
    )


class ProviderAppMetadata(RequestBody):
    authQueryParams: dict[str, list[str]] | None = None
    providerParams: dict[str, str] | None = None


class CreateProviderApp(RequestBody):
    provider: str = Field(min_length=1)
    clientId: str = Field(min_length=1, max_length=512)
    clientSecret: str = Field(min_length=1, max_length=4096)
    externalRef: str | None = None
    scopes: list[str] | None = None
    metadata: ProviderAppMetadata | None = None


class ProviderAppFields(RequestBody):
    provider: str | None = None
    clientId: str | None = Field(default=None, min_length=1, max_length=512)
    clientSecret: str | None = Field(default=None, min_length=1, max_length=4096)
    externalRef: str | None = None
    scopes: list[str] | None = None
    metadata: ProviderAppMetadata | None = None


ProviderAppMask = Literal[
    "externalRef", "clientId", "clientSecret", "provider", "scopes", "metadata"
]


class UpdateProviderApp(RequestBody):
    updateMask: list[ProviderAppMask] = Field(min_length=1)
    providerApp: ProviderAppFields


def checked_provider(name: str, field: str = "provider") -> str:
    info = catalog.get_provider(name)
    if info is None:
        known = ", ".join(sorted(catalog.list_providers()))
        raise bad_input(field, f"unknown provider {name!r}", f"Use one of: {known}.", name)
    return str(info["name"])


def _check_scopes(provider: str, scopes: list[str] | None, field: str) -> None:
    # Ampersand's server rule: HubSpot apps must declare their scopes.
    if provider == "hubspot" and not scopes:
        raise bad_input(
            field,
            "HubSpot provider apps need their OAuth scopes",
            'Send "scopes", e.g. ["crm.objects.contacts.write", "oauth"].',
        )


async def find_provider_app(ctx: Ctx, project_id: str, app_id: str) -> ProviderApp:
    app = await ctx.session.get(ProviderApp, app_id)
    if app is None or app.project_id != project_id:
        raise not_found("Provider app", app_id, "List them with GET …/provider-apps.")
    return app


@router.post(PATH)
async def create(projectIdOrName: str, body: CreateProviderApp, ctx: CtxDep) -> dict[str, Any]:
    project = await ctx.project(projectIdOrName)
    provider = checked_provider(body.provider)
    _check_scopes(provider, body.scopes, "scopes")
    app = ProviderApp(
        project_id=project.id,
        provider=provider,
        client_id=body.clientId,
        client_secret_encrypted=ctx.state.box.encrypt(body.clientSecret),
        external_ref=body.externalRef,
        scopes=body.scopes or [],
        app_metadata=body.metadata.model_dump(exclude_none=True) if body.metadata else {},
    )
    ctx.session.add(app)
    await ctx.session.commit()
    return provider_app_json(app)


@router.get(PATH)
async def list_apps(projectIdOrName: str, ctx: CtxDep) -> list[dict[str, Any]]:
    project = await ctx.project(projectIdOrName)
    query = (
        select(ProviderApp)
        .where(ProviderApp.project_id == project.id)
        .order_by(ProviderApp.create_time)
    )
    return [provider_app_json(a) for a in (await ctx.session.execute(query)).scalars()]


@router.get(PATH + "/{providerAppId}")
async def get(projectIdOrName: str, providerAppId: str, ctx: CtxDep) -> dict[str, Any]:
    project = await ctx.project(projectIdOrName)
    return provider_app_json(await find_provider_app(ctx, project.id, providerAppId))


@router.patch(PATH + "/{providerAppId}")
async def update(
    projectIdOrName: str, providerAppId: str, body: UpdateProviderApp, ctx: CtxDep
) -> dict[str, Any]:
    project = await ctx.project(projectIdOrName)
    app = await find_provider_app(ctx, project.id, providerAppId)
    fields = body.providerApp
    for mask in body.updateMask:
        value = getattr(fields, mask)
        if value is None and mask not in ("externalRef", "metadata", "scopes"):
            raise bad_input(f"providerApp.{mask}", "required by the update mask", f"Send {mask}.")
        if mask == "provider":
            app.provider = checked_provider(str(value), "providerApp.provider")
        elif mask == "clientSecret":
            app.client_secret_encrypted = ctx.state.box.encrypt(str(value))
        elif mask == "clientId":
            app.client_id = str(value)
        elif mask == "externalRef":
            app.external_ref = value
        elif mask == "scopes":
            app.scopes = value or []
        elif mask == "metadata":
            app.app_metadata = fields.metadata.model_dump(exclude_none=True) if value else {}
    _check_scopes(app.provider, app.scopes, "providerApp.scopes")
    await ctx.session.commit()
    return provider_app_json(app)


@router.delete(PATH + "/{providerAppId}", status_code=204)
async def delete(projectIdOrName: str, providerAppId: str, ctx: CtxDep) -> Response:
    project = await ctx.project(projectIdOrName)
    await ctx.session.delete(await find_provider_app(ctx, project.id, providerAppId))
    await ctx.session.commit()
    return Response(status_code=204)

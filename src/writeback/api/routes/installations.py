"""Installations: (integration, group) + connection + versioned config.

Every config change writes a new `installation_config` row; the installation points at the
newest one, and each row records the integration revision it was checked against.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import Field, model_validator
from sqlalchemy import select

from writeback.api.deps import Ctx, CtxDep
from writeback.api.models import RequestBody
from writeback.api.problems import ApiProblem, bad_input, issue, not_found
from writeback.api.routes.connections import (
    connection_json,
    delete_unused_connections,
    find_connection,
    group_json,
)
from writeback.api.routes.integrations import find_integration, latest_revision
from writeback.api.serialize import compact, times, ts
from writeback.common.jsonpatch import JsonPatchError, apply_json_patch
from writeback.common.updatemask import UpdateMaskError, apply_update_mask
from writeback.control.config_content import ConfigIssue, check_against_manifest, parse_content
from writeback.store.tables import (
    Connection,
    Group,
    Installation,
    InstallationConfig,
    Integration,
    Revision,
    new_id,
)

router = APIRouter(tags=["installations"])

PROJECT = "/projects/{projectIdOrName}"
PATH = PROJECT + "/integrations/{integrationId}/installations"
DEFAULT_CREATED_BY = "api:create-installation"
UPDATE_MASKS = [
    "connectionId",
    "config.createdBy",
    "config.content.read.objects.*",
    "config.content.write.objects.*",
    "config.content.write.objects",
    "config.content.subscribe.objects.*",
    "config.content.subscribe.objects",
    "config.content.proxy.enabled",
]


class ConfigRequest(RequestBody):
    content: dict[str, Any]
    createdBy: str | None = Field(default=None, max_length=255)
    revisionId: str | None = None  # deprecated in Ampersand: always the latest revision


class CreateInstallation(RequestBody):
    groupRef: str = Field(min_length=1, max_length=255)
    connectionId: str | None = None
    config: ConfigRequest


class UpdateInstallation(RequestBody):
    updateMask: list[str] = Field(min_length=1)
    installation: dict[str, Any]


class PatchObjectConfig(RequestBody):
    groupRef: str | None = None
    installationId: str | None = None
    action: Literal["read", "write", "subscribe"]
    changes: list[dict[str, Any]] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_target(self) -> PatchObjectConfig:
        if (self.groupRef is None) == (self.installationId is None):
            raise ValueError("send exactly one of groupRef or installationId")
        return self


def config_json(config: InstallationConfig) -> dict[str, Any]:
    return {
        "id": config.id,
        "revisionId": config.revision_id,
        "createTime": ts(config.create_time),
        "createdBy": config.created_by,
        "content": config.content,
    }


async def installation_json(ctx: Ctx, installation: Installation) -> dict[str, Any]:
    connection_row = await find_connection(ctx, installation.project_id, installation.connection_id)
    group = connection_row[1]
    if group.id != installation.group_id:
        group = await ctx.session.get(Group, installation.group_id)
    config = await ctx.session.get(InstallationConfig, installation.config_id)
    assert config is not None
    return compact(
        {
            "id": installation.id,
            "projectId": installation.project_id,
            "integrationId": installation.integration_id,
            "group": group_json(group),
            "connection": connection_json(ctx, *connection_row),
            "config": config_json(config),
            "healthStatus": installation.health_status,
            "lastOperationStatus": installation.last_operation_status,
            "createdBy": installation.created_by,
            **times(installation),
        }
    )


def _objects(content: dict[str, Any], action: str) -> list[str]:
    section = content.get(action) or {}
    return [str(o.get("objectName")) for o in section.get("objects") or [] if isinstance(o, dict)]


def _config_problem(issues: list[ConfigIssue]) -> ApiProblem:
    first = f"{issues[0].path}: {issues[0].message}"
    more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
    return ApiProblem(
        422,
        f"The installation config is not valid: {first}{more}",
        remedy="Fix each field listed in `issues`; config objects must be declared in the"
        " integration's amp.yaml and follow the ConfigContent schema.",
        issues=[issue("body", i.path, i.message, i.value) for i in issues],
    )


def validated_content(
    raw: Any, integration: Integration, revision: Revision, prefix: str = "config.content"
) -> dict[str, Any]:
    """The content to store: schema-checked, checked against the manifest, provider filled in."""
    content, issues = parse_content(raw, prefix)
    if not issues:
        issues = check_against_manifest(
            content,
            provider=integration.provider,
            integration_name=integration.name,
            read_objects=_objects(revision.content, "read"),
            write_objects=_objects(revision.content, "write"),
            subscribe_objects=_objects(revision.content, "subscribe"),
            prefix=prefix,
        )
    if issues:
        raise _config_problem(issues)
    stored = dict(raw)
    stored["provider"] = integration.provider
    return stored


async def _connection_for(
    ctx: Ctx, integration: Integration, group: Group, connection_id: str | None, field: str
) -> Connection:
    if connection_id is None:
        query = (
            select(Connection)
            .where(Connection.group_id == group.id, Connection.provider == integration.provider)
            .order_by(Connection.create_time.desc())
        )
        connection = (await ctx.session.execute(query)).scalars().first()
        if connection is None:
            raise bad_input(
                "groupRef",
                f"group {group.group_ref!r} has no {integration.provider} connection",
                "Import the customer's credentials first: POST …/connections:generate.",
                group.group_ref,
            )
        return connection
    connection = (await find_connection(ctx, integration.project_id, connection_id))[0]
    if connection.group_id != group.id:
        raise bad_input(
            field,
            f"connection belongs to another group, not {group.group_ref!r}",
            "Use a connection created for this groupRef.",
            connection_id,
        )
    if connection.provider != integration.provider:
        raise bad_input(
            field,
            f"connection is for {connection.provider}, the integration for {integration.provider}",
            f"Use a {integration.provider} connection.",
            connection_id,
        )
    return connection


async def _find_group(ctx: Ctx, project_id: str, group_ref: str) -> Group | None:
    query = select(Group).where(Group.project_id == project_id, Group.group_ref == group_ref)
    return (await ctx.session.execute(query)).scalar_one_or_none()


async def _new_config(
    ctx: Ctx, installation: Installation, revision: Revision, content: dict[str, Any], by: str
) -> InstallationConfig:
    config = InstallationConfig(
        installation_id=installation.id, revision_id=revision.id, created_by=by, content=content
    )
    ctx.session.add(config)
    await ctx.session.flush()
    installation.config_id = config.id
    return config


@router.post(PATH, status_code=201)
async def create(
    projectIdOrName: str,
    integrationId: str,
    body: CreateInstallation,
    ctx: CtxDep,
    skipSampling: bool = False,
) -> dict[str, Any]:
    project = await ctx.project(projectIdOrName)
    integration = await find_integration(ctx, project.id, integrationId)
    revision = await latest_revision(ctx, integration)
    content = validated_content(body.config.content, integration, revision)
    group = await _find_group(ctx, project.id, body.groupRef)
    if group is None:
        raise bad_input(
            "groupRef",
            f"group {body.groupRef!r} does not exist in this project",
            "Import the customer's credentials with POST …/connections:generate; that creates"
            " the group.",
            body.groupRef,
        )
    existing = (
        await ctx.session.execute(
            select(Installation.id).where(
                Installation.integration_id == integration.id, Installation.group_id == group.id
            )
        )
    ).first()
    if existing is not None:
        raise ApiProblem(
            409,
            f"Group {body.groupRef!r} already has an installation of {integration.name!r}"
            f" ({existing[0]}).",
            remedy="A group installs an integration once; PATCH the existing installation.",
            context={"installationId": existing[0]},
        )
    connection = await _connection_for(ctx, integration, group, body.connectionId, "connectionId")
    created_by = body.config.createdBy or DEFAULT_CREATED_BY
    # The config id is chosen up front so that creating does not also update the row
    # (which would give a brand-new installation an updateTime).
    installation = Installation(
        project_id=project.id,
        integration_id=integration.id,
        group_id=group.id,
        connection_id=connection.id,
        config_id=new_id(),
        created_by=created_by,
    )
    ctx.session.add(installation)
    await ctx.session.flush()
    ctx.session.add(
        InstallationConfig(
            id=installation.config_id,
            installation_id=installation.id,
            revision_id=revision.id,
            created_by=created_by,
            content=content,
        )
    )
    await ctx.session.commit()
    return await installation_json(ctx, installation)


async def _list(ctx: Ctx, query: Any, group_ref: str | None) -> list[dict[str, Any]]:
    if group_ref is not None:
        query = query.join(Group, Group.id == Installation.group_id).where(
            Group.group_ref == group_ref
        )
    installations = (await ctx.session.execute(query.order_by(Installation.create_time))).scalars()
    return [await installation_json(ctx, i) for i in installations.all()]


@router.get(PATH)
async def list_for_integration(
    projectIdOrName: str, integrationId: str, ctx: CtxDep, groupRef: str | None = None
) -> list[dict[str, Any]]:
    project = await ctx.project(projectIdOrName)
    integration = await find_integration(ctx, project.id, integrationId)
    query = select(Installation).where(Installation.integration_id == integration.id)
    return await _list(ctx, query, groupRef)


@router.get(PROJECT + "/installations")
async def list_for_project(
    projectIdOrName: str, ctx: CtxDep, groupRef: str | None = None
) -> list[dict[str, Any]]:
    project = await ctx.project(projectIdOrName)
    return await _list(
        ctx, select(Installation).where(Installation.project_id == project.id), groupRef
    )


async def find_installation(
    ctx: Ctx, integration: Integration, installation_id: str
) -> Installation:
    installation = await ctx.session.get(Installation, installation_id)
    if installation is None or installation.integration_id != integration.id:
        raise not_found(
            "Installation",
            installation_id,
            "List installations with GET …/integrations/{integration}/installations.",
        )
    return installation


@router.get(PATH + "/{installationId}")
async def get(
    projectIdOrName: str, integrationId: str, installationId: str, ctx: CtxDep
) -> dict[str, Any]:
    project = await ctx.project(projectIdOrName)
    integration = await find_integration(ctx, project.id, integrationId)
    return await installation_json(ctx, await find_installation(ctx, integration, installationId))


@router.patch(PATH + "/{installationId}")
async def update(
    projectIdOrName: str,
    integrationId: str,
    installationId: str,
    body: UpdateInstallation,
    ctx: CtxDep,
) -> dict[str, Any]:
    project = await ctx.project(projectIdOrName)
    integration = await find_integration(ctx, project.id, integrationId)
    installation = await find_installation(ctx, integration, installationId)
    config = await ctx.session.get(InstallationConfig, installation.config_id)
    assert config is not None
    current = {
        "connectionId": installation.connection_id,
        "config": {"createdBy": config.created_by, "content": config.content},
    }
    try:
        updated = apply_update_mask(current, body.installation, body.updateMask, UPDATE_MASKS)
    except UpdateMaskError as exc:
        raise ApiProblem(
            400,
            f"Invalid update mask: {exc}",
            remedy="Allowed masks: " + ", ".join(UPDATE_MASKS),
            issues=[issue("body", "updateMask", str(exc), exc.path)],
        ) from exc
    if updated.get("connectionId") != installation.connection_id:
        group = await ctx.session.get(Group, installation.group_id)
        assert group is not None
        new_id = updated.get("connectionId")
        if not isinstance(new_id, str):
            raise bad_input("installation.connectionId", "must be a connection id", "Send one.")
        connection = await _connection_for(
            ctx, integration, group, new_id, "installation.connectionId"
        )
        installation.connection_id = connection.id
    new_config = updated.get("config") or {}
    if new_config != current["config"]:
        revision = await latest_revision(ctx, integration)
        content = validated_content(
            new_config.get("content") or {}, integration, revision, "installation.config.content"
        )
        by = str(new_config.get("createdBy") or config.created_by)
        await _new_config(ctx, installation, revision, content, by)
    await ctx.session.commit()
    return await installation_json(ctx, installation)


@router.delete(PATH + "/{installationId}", status_code=204)
async def delete(
    projectIdOrName: str, integrationId: str, installationId: str, ctx: CtxDep
) -> Response:
    project = await ctx.project(projectIdOrName)
    integration = await find_integration(ctx, project.id, integrationId)
    installation = await find_installation(ctx, integration, installationId)
    connection_id = installation.connection_id
    await ctx.session.delete(installation)
    await ctx.session.flush()
    await delete_unused_connections(ctx.session, [connection_id])
    await ctx.session.commit()
    return Response(status_code=204)


@router.patch(PROJECT + "/integrations/{integrationId}/objects/{objectName}/config-content")
async def patch_object_config(
    projectIdOrName: str, integrationId: str, objectName: str, body: PatchObjectConfig, ctx: CtxDep
) -> dict[str, Any]:
    project = await ctx.project(projectIdOrName)
    integration = await find_integration(ctx, project.id, integrationId)
    revision = await latest_revision(ctx, integration)
    declared = _objects(revision.content, body.action)
    if objectName not in declared:
        raise ApiProblem(
            404,
            f"{objectName!r} is not a {body.action} object of integration {integration.name!r}.",
            remedy=f"Its {body.action} objects: {', '.join(declared) or 'none'}.",
            issues=[issue("path", "objectName", "not declared in the manifest", objectName)],
        )
    if body.installationId is not None:
        installation = await find_installation(ctx, integration, body.installationId)
    else:
        group = await _find_group(ctx, project.id, str(body.groupRef))
        query = select(Installation).where(
            Installation.integration_id == integration.id,
            Installation.group_id == (group.id if group else None),
        )
        found = (await ctx.session.execute(query)).scalar_one_or_none()
        if found is None:
            raise not_found(
                "Installation for groupRef",
                str(body.groupRef),
                "Create the installation first (POST …/installations).",
            )
        installation = found
    config = await ctx.session.get(InstallationConfig, installation.config_id)
    assert config is not None
    content = dict(config.content)
    section = dict(content.get(body.action) or {})
    objects = dict(section.get("objects") or {})
    try:
        objects[objectName] = apply_json_patch(
            objects.get(objectName) or {"objectName": objectName}, body.changes
        )
    except JsonPatchError as exc:
        raise ApiProblem(
            400,
            str(exc),
            remedy="Paths are JSON Pointers relative to the object's config, e.g."
            ' "/deletionSettings"; use "add" for new keys and "replace" for existing ones.',
            issues=[issue("body", f"changes[{exc.index}]", str(exc), exc.path)],
        ) from exc
    section["objects"] = objects
    content[body.action] = section
    stored = validated_content(content, integration, revision)
    await _new_config(ctx, installation, revision, stored, f"api:{ctx.caller.key_id or 'admin'}")
    await ctx.session.commit()
    return await installation_json(ctx, installation)

"""Object metadata: a customer's provider object and its fields, via an installation
(`getObjectMetadataForInstallation`) or a connection (`getObjectMetadataForConnection`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from writeback.api.deps import CtxDep, app_state
from writeback.api.problems import ApiProblem
from writeback.common.clip import clip_text
from writeback.connectors.credentials import NO_PROVIDER_APP
from writeback.connectors.factory import ConnectionNotUsable
from writeback.connectors.metadata import FieldInfo, ObjectInfo, UnknownObject
from writeback.control.object_metadata import (
    Described,
    MetadataNotFound,
    ObjectMetadataService,
    ProviderFailure,
)

router = APIRouter(tags=["objects & fields"])

_PROJECT = "/projects/{projectIdOrName}"
MAX_PROVIDER_MESSAGE = 500  # bytes of the provider's error echoed in a 502

GroupRef = Annotated[
    str,
    Query(min_length=1, max_length=255, description="The group whose connection is used."),
]
ExcludeReadOnly = Annotated[
    bool, Query(description="Leave out fields that are read-only (`readOnly: true`).")
]
Refresh = Annotated[
    bool,
    Query(description="Ask the provider again instead of answering from the 5-minute cache."),
]


def metadata_service(request: Request) -> ObjectMetadataService:
    return app_state(request).object_metadata


def field_json(field: FieldInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "fieldName": field.name,
        "displayName": field.display_name,
        "valueType": field.value_type,
        "providerType": field.provider_type,
        "readOnly": field.read_only,
        "isCustom": field.is_custom,
        "isRequired": field.is_required,
    }
    if field.reference_to:
        out["referenceTo"] = list(field.reference_to)
    if field.values is not None:
        out["values"] = [{"value": v.value, "displayValue": v.display_value} for v in field.values]
    return out


def metadata_json(
    info: ObjectInfo, mapped_name: str | None, exclude_read_only: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": info.name, "displayName": info.display_name}
    if mapped_name is not None:
        out["mappedObjectName"] = mapped_name
    out["fields"] = {
        f.name: field_json(f) for f in info.fields if not (exclude_read_only and f.read_only)
    }
    return out


def _problem(exc: Exception, group_ref: str, provider: str, object_name: str) -> ApiProblem:
    if isinstance(exc, MetadataNotFound):
        return ApiProblem(404, exc.detail, remedy=exc.remedy)
    if isinstance(exc, UnknownObject):
        return ApiProblem(
            404,
            f"{provider} has no object {object_name!r} for group {group_ref!r}:"
            f" {clip_text(exc.message, MAX_PROVIDER_MESSAGE)}",
            remedy="Use the provider's name for the object (e.g. Account in Salesforce,"
            " contacts in HubSpot) or the mapToName your integration gives it.",
            code="object_not_found",
        )
    if isinstance(exc, ConnectionNotUsable):
        return ApiProblem(409, exc.detail, remedy=exc.remedy)
    assert isinstance(exc, ProviderFailure)
    error = exc.error
    message = clip_text(error.message, MAX_PROVIDER_MESSAGE)
    if error.code == NO_PROVIDER_APP:
        return ApiProblem(
            409,
            f"Cannot refresh the customer's {provider} token: {message}",
            remedy=f"Create a {provider} provider app with the OAuth client the tokens were"
            " issued to (POST /v1/projects/{project}/provider-apps).",
        )
    if error.error_class == "auth":
        return ApiProblem(
            424,
            f"The customer's {provider} connection no longer works: {message}",
            remedy=f"Ask the customer (group {group_ref!r}) to reconnect {provider}.",
        )
    return ApiProblem(
        502,
        f"{provider} failed to describe {object_name!r}: {message}",
        remedy="Try again later; if it keeps failing, check the customer's access to this"
        " object in the provider.",
        retryable=error.retryable,
        retry_after=error.retry_after,
        code="provider_error",
    )


_FAILURES = (MetadataNotFound, UnknownObject, ConnectionNotUsable, ProviderFailure)


@router.get(_PROJECT + "/integrations/{integrationId}/objects/{objectName}/metadata")
async def for_installation(
    projectIdOrName: str,
    integrationId: str,
    objectName: str,
    groupRef: GroupRef,
    ctx: CtxDep,
    request: Request,
    excludeReadOnly: ExcludeReadOnly = False,
    refresh: Refresh = False,
) -> dict[str, Any]:
    """The object (by its mapped or native name) of the group's installation, and its fields."""
    project = await ctx.project(projectIdOrName)
    service = metadata_service(request)
    try:
        found: Described = await service.for_installation(
            ctx.session, project.id, integrationId, objectName, groupRef, refresh=refresh
        )
    except _FAILURES as exc:
        provider = getattr(exc, "provider", None) or "The provider"
        raise _problem(exc, groupRef, provider, objectName) from exc
    return metadata_json(found.info, found.mapped_name, excludeReadOnly)


@router.get(_PROJECT + "/providers/{provider}/objects/{objectName}/metadata")
async def for_connection(
    projectIdOrName: str,
    provider: str,
    objectName: str,
    groupRef: GroupRef,
    ctx: CtxDep,
    request: Request,
    excludeReadOnly: ExcludeReadOnly = False,
    refresh: Refresh = False,
) -> dict[str, Any]:
    """The object (by its native name) seen through the group's connection, and its fields."""
    project = await ctx.project(projectIdOrName)
    service = metadata_service(request)
    try:
        found = await service.for_connection(
            ctx.session, project.id, provider, objectName, groupRef, refresh=refresh
        )
    except _FAILURES as exc:
        raise _problem(exc, groupRef, provider.lower(), objectName) from exc
    return metadata_json(found.info, None, excludeReadOnly)

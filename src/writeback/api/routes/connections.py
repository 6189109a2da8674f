"""Connections: import credentials (`connections:generate`), list, get, delete.

Tokens live only in `credentials_encrypted`; they are returned only with `includeCreds=true`.

Salesforce connections refresh their tokens at the host they were authorised against:
`providerMetadata.loginUrl.value` (e.g. https://test.salesforce.com for a sandbox org), or, when
absent, test.salesforce.com for an instance URL on `*.sandbox.my.salesforce.com`; otherwise
login.salesforce.com. It is kept in `Connection.login_url`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from writeback.api.deps import Ctx, CtxDep
from writeback.api.models import RequestBody
from writeback.api.problems import ApiProblem, bad_input, not_found
from writeback.api.routes.provider_apps import (
    checked_provider,
    find_provider_app,
    provider_app_json,
)
from writeback.api.scopes import missing_scope
from writeback.api.serialize import compact, times, ts
from writeback.connectors.salesforce.instance import (
    InstanceUrlError,
    check_login_url,
    instance_url,
    login_url_for_instance,
)
from writeback.control.key_scopes import CREDENTIALS
from writeback.store.tables import Connection, Consumer, Group, Installation, ProviderApp

router = APIRouter(tags=["connections"])

PATH = "/projects/{projectIdOrName}/connections"


class Token(RequestBody):
    token: str = Field(min_length=1, max_length=8192)
    expiresAt: datetime | None = None
    issuedAt: datetime | None = None


class OAuth2AuthorizationCode(RequestBody):
    accessToken: Token | None = None
    refreshToken: Token | None = None
    scopes: list[str] | None = None
    expiry: datetime | None = None  # older clients send a flat expiry


class MetadataValue(RequestBody):
    value: str
    source: Literal["input", "token", "provider"] | None = None
    displayName: str | None = None


class GenerateConnection(RequestBody):
    groupRef: str = Field(min_length=1, max_length=255)
    consumerRef: str = Field(min_length=1, max_length=255)
    provider: str = Field(min_length=1)
    groupName: str | None = Field(default=None, max_length=255)
    consumerName: str | None = Field(default=None, max_length=255)
    providerWorkspaceRef: str | None = Field(default=None, max_length=255)
    providerConsumerRef: str | None = None
    providerMetadata: dict[str, MetadataValue] | None = None
    providerAppId: str | None = None
    apiKey: str | None = Field(default=None, min_length=1, max_length=8192)
    oauth2AuthorizationCode: OAuth2AuthorizationCode | None = None
    basicAuth: dict[str, Any] | None = None
    oauth2ClientCredentials: dict[str, Any] | None = None
    oauth2PasswordCredentials: dict[str, Any] | None = None
    customAuth: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_credential(self) -> GenerateConnection:
        given = [name for name in CREDENTIAL_BLOCKS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "send exactly one credential block: "
                + ", ".join(CREDENTIAL_BLOCKS)
                + (f" (got {', '.join(given)})" if given else " (got none)")
            )
        return self


CREDENTIAL_BLOCKS = (
    "oauth2AuthorizationCode",
    "apiKey",
    "basicAuth",
    "oauth2ClientCredentials",
    "oauth2PasswordCredentials",
    "customAuth",
)
# What writeback can use to call each provider today.
SUPPORTED_CREDENTIALS = {
    "salesforce": ("oauth2AuthorizationCode",),
    "hubspot": ("oauth2AuthorizationCode", "apiKey"),
}
AUTH_SCHEMES = {"oauth2AuthorizationCode": "oauth2/authorizationCode", "apiKey": "apiKey"}


def group_json(group: Group) -> dict[str, Any]:
    return compact(
        {
            "groupRef": group.group_ref,
            "groupName": group.group_name,
            "projectId": group.project_id,
            **times(group),
        }
    )


def consumer_json(consumer: Consumer) -> dict[str, Any]:
    return compact(
        {
            "consumerRef": consumer.consumer_ref,
            "consumerName": consumer.consumer_name,
            "projectId": consumer.project_id,
            **times(consumer),
        }
    )


def connection_json(
    ctx: Ctx,
    connection: Connection,
    group: Group,
    consumer: Consumer,
    app: ProviderApp | None,
    *,
    include_creds: bool = False,
) -> dict[str, Any]:
    body = compact(
        {
            "id": connection.id,
            "projectId": connection.project_id,
            "provider": connection.provider,
            "providerApp": provider_app_json(app) if app else None,
            "group": group_json(group),
            "consumer": consumer_json(consumer),
            "providerWorkspaceRef": connection.provider_workspace_ref,
            "providerConsumerRef": connection.provider_consumer_ref,
            **times(connection),
            "authScheme": connection.auth_scheme,
            "status": connection.status,
            "providerMetadata": connection.provider_metadata or None,
        }
    )
    if connection.auth_scheme == AUTH_SCHEMES["oauth2AuthorizationCode"]:
        body["oauth2AuthorizationCode"] = _oauth_view(ctx, connection, include_creds)
    elif include_creds and connection.auth_scheme == "apiKey":
        body["apiKey"] = _credentials(ctx, connection).get("apiKey")
    return body


def _credentials(ctx: Ctx, connection: Connection) -> dict[str, Any]:
    value = ctx.state.box.decrypt_json(connection.credentials_encrypted)
    assert isinstance(value, dict)
    return value


def _oauth_view(ctx: Ctx, connection: Connection, include_creds: bool) -> dict[str, Any]:
    creds = _credentials(ctx, connection) if include_creds else {}
    access: dict[str, Any] = {"expiresAt": ts(connection.access_token_expires_at)}
    if include_creds:
        access["token"] = creds.get("accessToken")
        access["issuedAt"] = creds.get("accessTokenIssuedAt")
    view: dict[str, Any] = {"accessToken": compact(access), "scopes": connection.scopes}
    if include_creds and creds.get("refreshToken"):
        view["refreshToken"] = {"token": creds["refreshToken"]}
    return view


async def upsert_group(ctx: Ctx, project_id: str, ref: str, name: str | None) -> Group:
    query = select(Group).where(Group.project_id == project_id, Group.group_ref == ref)
    group = (await ctx.session.execute(query)).scalar_one_or_none()
    if group is None:
        group = Group(project_id=project_id, group_ref=ref, group_name=name or ref)
        ctx.session.add(group)
        await ctx.session.flush()
    elif name and name != group.group_name:
        group.group_name = name
    return group


async def _upsert_consumer(ctx: Ctx, project_id: str, ref: str, name: str | None) -> Consumer:
    query = select(Consumer).where(Consumer.project_id == project_id, Consumer.consumer_ref == ref)
    consumer = (await ctx.session.execute(query)).scalar_one_or_none()
    if consumer is None:
        consumer = Consumer(project_id=project_id, consumer_ref=ref, consumer_name=name or ref)
        ctx.session.add(consumer)
        await ctx.session.flush()
    elif name and name != consumer.consumer_name:
        consumer.consumer_name = name
    return consumer


def _credential_payload(body: GenerateConnection) -> tuple[str, dict[str, Any], Any, list[str]]:
    """(auth scheme, secret payload, access-token expiry, scopes) for the one block sent."""
    block = next(name for name in CREDENTIAL_BLOCKS if getattr(body, name) is not None)
    supported = SUPPORTED_CREDENTIALS.get(body.provider, ())
    if block not in supported:
        raise bad_input(
            block,
            f"{body.provider} connections cannot use {block}",
            f"Send one of: {', '.join(supported)}.",
        )
    if block == "apiKey":
        return AUTH_SCHEMES[block], {"apiKey": body.apiKey}, None, []
    oauth = body.oauth2AuthorizationCode
    assert oauth is not None
    if oauth.accessToken is None and oauth.refreshToken is None:
        raise bad_input(
            "oauth2AuthorizationCode",
            "needs an accessToken, a refreshToken, or both",
            "Send the tokens the provider's token endpoint returned.",
        )
    access = oauth.accessToken
    times_sent = {
        "accessToken.expiresAt": access.expiresAt if access else None,
        "expiry": oauth.expiry,
        "accessToken.issuedAt": access.issuedAt if access else None,
    }
    for name, value in times_sent.items():
        if value is not None and value.tzinfo is None:
            raise bad_input(
                f"oauth2AuthorizationCode.{name}",
                "has no time zone",
                'Send an RFC 3339 time with a zone, e.g. "2026-01-01T02:00:00Z".',
            )
    expires_at = times_sent["accessToken.expiresAt"] or oauth.expiry
    issued_at = times_sent["accessToken.issuedAt"]
    payload = {
        "accessToken": access.token if access else None,
        # UTC, so the response to this request shows the same times a later GET does.
        "accessTokenIssuedAt": ts(issued_at.astimezone(UTC)) if issued_at else None,
        "refreshToken": oauth.refreshToken.token if oauth.refreshToken else None,
    }
    if expires_at is not None:
        expires_at = expires_at.astimezone(UTC)
    return AUTH_SCHEMES[block], payload, expires_at, oauth.scopes or []


def _check_salesforce_location(body: GenerateConnection, sandbox: str | None) -> None:
    if body.provider != "salesforce":
        return
    metadata = {k: v.model_dump() for k, v in (body.providerMetadata or {}).items()}
    try:
        instance_url(metadata, body.providerWorkspaceRef, sandbox)
    except InstanceUrlError as exc:
        field = (
            "providerMetadata.instanceUrl.value"
            if "instanceUrl" in metadata
            else ("providerWorkspaceRef")
        )
        raise bad_input(
            field,
            str(exc),
            "Send providerMetadata.instanceUrl.value as the token response's instance_url"
            " (https://<domain>.my.salesforce.com) or providerWorkspaceRef as the My Domain"
            " name.",
            metadata.get("instanceUrl", {}).get("value") or body.providerWorkspaceRef,
        ) from exc


def login_url(body: GenerateConnection) -> str | None:
    """Where a Salesforce connection logs in and refreshes its tokens (None: the default host,
    login.salesforce.com). Other providers have one login host."""
    if body.provider != "salesforce":
        return None
    metadata = body.providerMetadata or {}
    given = metadata.get("loginUrl")
    if given is not None:
        try:
            return check_login_url(given.value)
        except InstanceUrlError as exc:
            raise bad_input(
                "providerMetadata.loginUrl.value",
                str(exc),
                "Send the origin the customer authorised at: https://login.salesforce.com,"
                " https://test.salesforce.com (sandbox orgs) or their My Domain"
                " (https://<name>.my.salesforce.com); or leave loginUrl out.",
                given.value,
            ) from exc
    instance = metadata.get("instanceUrl")
    return login_url_for_instance(instance.value if instance else None)


@router.post(PATH + ":generate", status_code=201)
async def generate(projectIdOrName: str, body: GenerateConnection, ctx: CtxDep) -> dict[str, Any]:
    project = await ctx.project(projectIdOrName)
    body.provider = checked_provider(body.provider)
    _check_salesforce_location(body, ctx.state.settings.sandbox_url)
    login = login_url(body)
    scheme, secret_payload, expires_at, scopes = _credential_payload(body)
    app = None
    if body.providerAppId:
        app = await find_provider_app(ctx, project.id, body.providerAppId)
        if app.provider != body.provider:
            raise bad_input(
                "providerAppId",
                f"provider app is for {app.provider}, not {body.provider}",
                "Use a provider app of the same provider.",
            )
    group = await upsert_group(ctx, project.id, body.groupRef, body.groupName)
    consumer = await _upsert_consumer(ctx, project.id, body.consumerRef, body.consumerName)
    connection = Connection(
        project_id=project.id,
        provider=body.provider,
        provider_app_id=app.id if app else None,
        group_id=group.id,
        consumer_id=consumer.id,
        provider_workspace_ref=body.providerWorkspaceRef,
        provider_consumer_ref=body.providerConsumerRef,
        auth_scheme=scheme,
        status="created",
        credentials_encrypted=ctx.state.box.encrypt_json(secret_payload),
        access_token_expires_at=expires_at,
        scopes=scopes,
        login_url=login,
        provider_metadata={
            key: value.model_dump(exclude_none=True)
            for key, value in (body.providerMetadata or {}).items()
        },
    )
    ctx.session.add(connection)
    await ctx.session.commit()
    return connection_json(ctx, connection, group, consumer, app)


def _connections_query(project_id: str) -> Any:
    return (
        select(Connection, Group, Consumer, ProviderApp)
        .join(Group, Group.id == Connection.group_id)
        .join(Consumer, Consumer.id == Connection.consumer_id)
        .outerjoin(ProviderApp, ProviderApp.id == Connection.provider_app_id)
        .where(Connection.project_id == project_id)
    )


async def find_connection(ctx: Ctx, project_id: str, connection_id: str) -> tuple[Any, ...]:
    query = _connections_query(project_id).where(Connection.id == connection_id)
    row = (await ctx.session.execute(query)).first()
    if row is None:
        raise not_found("Connection", connection_id, "List connections with GET …/connections.")
    return tuple(row)


@router.get(PATH)
async def list_connections(
    projectIdOrName: str,
    ctx: CtxDep,
    provider: str | None = None,
    groupRef: str | None = None,
    consumerRef: str | None = None,
) -> list[dict[str, Any]]:
    project = await ctx.project(projectIdOrName)
    query = _connections_query(project.id).order_by(Connection.create_time)
    if provider:
        query = query.where(Connection.provider == provider.lower())
    if groupRef:
        query = query.where(Group.group_ref == groupRef)
    if consumerRef:
        query = query.where(Consumer.consumer_ref == consumerRef)
    rows = (await ctx.session.execute(query)).all()
    return [connection_json(ctx, *row) for row in rows]


@router.get(PATH + "/{connectionId}")
async def get(
    projectIdOrName: str,
    connectionId: str,
    ctx: CtxDep,
    includeCreds: Annotated[
        bool, Query(description="Show the tokens; needs a key with the `credentials` scope.")
    ] = False,
    includeRefreshToken: bool = False,
) -> dict[str, Any]:
    # includeCreds shows every token; includeRefreshToken is accepted for Ampersand clients.
    if includeCreds and CREDENTIALS not in ctx.caller.scopes:
        # the auth gate refuses this first (api/scopes.py); checked here too, next to the tokens
        action = f"GET /v1{PATH}/{{connectionId}}?includeCreds=true"
        raise missing_scope(ctx.caller, [CREDENTIALS], action)
    project = await ctx.project(projectIdOrName)
    row = await find_connection(ctx, project.id, connectionId)
    return connection_json(ctx, *row, include_creds=includeCreds)


@router.delete(PATH + "/{connectionId}", status_code=204)
async def delete(projectIdOrName: str, connectionId: str, ctx: CtxDep) -> Response:
    project = await ctx.project(projectIdOrName)
    connection = (await find_connection(ctx, project.id, connectionId))[0]
    used_by = (
        await ctx.session.execute(
            select(Installation.id).where(Installation.connection_id == connection.id).limit(1)
        )
    ).first()
    if used_by is not None:
        raise ApiProblem(
            409,
            f"Connection {connection.id} is used by installation {used_by[0]}.",
            remedy="Delete the installation first, or point it at another connection"
            ' (PATCH the installation with updateMask ["connectionId"]).',
        )
    await ctx.session.delete(connection)
    await ctx.session.commit()
    return Response(status_code=204)


async def delete_unused_connections(session: AsyncSession, connection_ids: list[str]) -> None:
    """As in Ampersand, removing installations removes connections no installation still uses."""
    for connection_id in set(connection_ids):
        used = await session.execute(
            select(Installation.id).where(Installation.connection_id == connection_id).limit(1)
        )
        if used.first() is None:
            connection = await session.get(Connection, connection_id)
            if connection is not None:
                await session.delete(connection)

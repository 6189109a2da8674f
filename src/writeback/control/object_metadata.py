"""Object metadata: what fields a customer's provider object has, through their connection.

Looked up via an installation (the object by its mapped or native name) or via a connection
(group and provider). The provider's answer is kept per connection and object for a few
minutes (`refresh` asks again); it changes only when the customer edits their schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cachetools import TTLCache
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from writeback.connectors.contract import ConnectorError
from writeback.connectors.credentials import CredentialStore
from writeback.connectors.factory import connector_for
from writeback.connectors.http import ProviderHttp
from writeback.connectors.hubspot.connector import HubSpotConnector
from writeback.connectors.metadata import ObjectInfo
from writeback.connectors.salesforce.connector import SalesforceConnector
from writeback.store.tables import Connection, Group
from writeback.writes.errors import WriteTargetNotFound
from writeback.writes.target import load_target

CACHE_SECONDS = 300.0
CACHE_SIZE = 2048


class MetadataNotFound(LookupError):
    """No such integration, installation, group or connection."""

    def __init__(self, detail: str, remedy: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.remedy = remedy


class ProviderFailure(Exception):
    """The provider (or its token endpoint) failed: `error` says how."""

    def __init__(self, provider: str, error: ConnectorError) -> None:
        super().__init__(error.message)
        self.provider = provider
        self.error = error


@dataclass(frozen=True)
class Described:
    info: ObjectInfo
    mapped_name: str | None  # the installation's name for the object, if it maps one
    connection_id: str


def _read_objects(revision_content: dict[str, Any]) -> list[dict[str, Any]]:
    objects = (revision_content.get("read") or {}).get("objects") or []
    return [o for o in objects if isinstance(o, dict) and o.get("objectName")]


def resolve_object(revision_content: dict[str, Any], url_object: str) -> tuple[str, str | None]:
    """The provider's object name for `url_object` (a read object's `mapToName`, or the native
    name itself), and the object's mapped name if the integration gives it one."""
    objects = _read_objects(revision_content)
    for read_object in objects:
        if read_object.get("mapToName") == url_object:
            return str(read_object["objectName"]), url_object
    for read_object in objects:
        if str(read_object["objectName"]).lower() == url_object.lower():
            mapped = read_object.get("mapToName")
            return url_object, str(mapped) if mapped else None
    return url_object, None


class ObjectMetadataService:
    def __init__(
        self,
        http: ProviderHttp,
        credentials: CredentialStore,
        sandbox: str | None,
        *,
        seconds: float = CACHE_SECONDS,
        size: int = CACHE_SIZE,
    ) -> None:
        self.http = http
        self.credentials = credentials
        self.sandbox = sandbox
        # bounded: when full, the least recently used answer goes
        self._cache: TTLCache[tuple[str, str], ObjectInfo] = TTLCache(size, seconds)

    async def for_installation(
        self,
        session: AsyncSession,
        project_id: str,
        integration_ref: str,
        url_object: str,
        group_ref: str,
        *,
        refresh: bool = False,
    ) -> Described:
        try:
            target = await load_target(session, project_id, integration_ref, group_ref)
        except WriteTargetNotFound as exc:  # no such integration, or installation for the group
            raise MetadataNotFound(exc.detail, exc.remedy or "") from exc
        object_name, mapped = resolve_object(target.revision_content, url_object)
        info = await self.describe(target.connection, object_name, refresh=refresh)
        return Described(info, mapped, target.connection.id)

    async def for_connection(
        self,
        session: AsyncSession,
        project_id: str,
        provider: str,
        object_name: str,
        group_ref: str,
        *,
        refresh: bool = False,
    ) -> Described:
        group = (
            await session.execute(
                select(Group).where(Group.project_id == project_id, Group.group_ref == group_ref)
            )
        ).scalar_one_or_none()
        if group is None:
            raise MetadataNotFound(
                f"Group {group_ref!r} not found.",
                "Check the groupRef; a group appears once a connection is made for it"
                " (POST …/connections:generate).",
            )
        connection = (
            await session.execute(
                select(Connection)
                .where(
                    Connection.project_id == project_id,
                    Connection.group_id == group.id,
                    Connection.provider == provider.lower(),
                )
                .order_by(Connection.create_time.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        if connection is None:
            raise MetadataNotFound(
                f"Group {group_ref!r} has no {provider} connection.",
                f"Connect {provider} for this group first (POST …/connections:generate), or"
                " check the provider name (GET …/connections?groupRef=… lists them).",
            )
        info = await self.describe(connection, object_name, refresh=refresh)
        return Described(info, None, connection.id)

    async def describe(
        self, connection: Connection, object_name: str, *, refresh: bool = False
    ) -> ObjectInfo:
        """The provider's metadata of the object, from the cache unless `refresh`. Raises
        UnknownObject, ProviderFailure, ConnectionNotUsable."""
        folded = object_name.lower() if connection.provider == "salesforce" else object_name
        key = (connection.id, folded)
        if not refresh:
            cached = self._cache.get(key)
            if cached is not None:
                return cached
        try:
            info = await self._connector(connection).describe_object(object_name)
        except ConnectorError as exc:
            raise ProviderFailure(connection.provider, exc) from exc
        self._cache[key] = info
        return info

    def _connector(self, connection: Connection) -> SalesforceConnector | HubSpotConnector:
        return connector_for(connection, self.http, self.credentials, self.sandbox)[0]

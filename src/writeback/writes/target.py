"""What a write request addresses: integration, installation (by groupRef), config, connection;
and a short-lived cache of it, with each object's plan worked out once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cachetools import TTLCache
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from writeback.control.config_content import WriteConfigObject, parse_content
from writeback.control.projects import looks_like_uuid
from writeback.store.tables import (
    Connection,
    Group,
    Installation,
    InstallationConfig,
    Integration,
    Project,
    Revision,
)
from writeback.writes.errors import FieldIssue, WriteTargetNotFound
from writeback.writes.mapping import WriteMapping, build_mapping, resolve_write_object


@dataclass
class WriteTarget:
    integration: Integration
    revision_content: dict[str, Any]
    installation: Installation
    config: InstallationConfig
    connection: Connection
    group: Group
    project_settings: dict[str, Any]

    @property
    def provider(self) -> str:
        return self.integration.provider

    @property
    def resend_unknown_creates(self) -> bool:
        """The project prefers at-least-once: creates whose outcome is unknown are resent."""
        policy = self.project_settings.get("deliveryPolicy") or {}
        return policy.get("unknownCreateOutcome") == "resend"


async def load_target(
    session: AsyncSession, project_id: str, integration_ref: str, group_ref: str
) -> WriteTarget:
    condition = Integration.name == integration_ref
    if looks_like_uuid(integration_ref):
        condition = or_(Integration.id == integration_ref.lower(), condition)
    row = (
        await session.execute(
            select(Integration, Revision, Project.settings)
            .join(Revision, Revision.id == Integration.latest_revision_id)
            .join(Project, Project.id == Integration.project_id)
            .where(Integration.project_id == project_id, condition)
        )
    ).first()
    if row is None:
        raise WriteTargetNotFound(
            f"Integration {integration_ref!r} not found.",
            remedy="Use an integration id or name from GET /v1/projects/{project}/integrations.",
        )
    integration, revision, project_settings = row
    found = (
        await session.execute(
            select(Installation, Group, InstallationConfig, Connection)
            .join(Group, Group.id == Installation.group_id)
            .join(InstallationConfig, InstallationConfig.id == Installation.config_id)
            .join(Connection, Connection.id == Installation.connection_id)
            .where(Installation.integration_id == integration.id, Group.group_ref == group_ref)
        )
    ).first()
    if found is None:
        raise WriteTargetNotFound(
            f"Group {group_ref!r} has no installation of integration {integration.name!r}.",
            remedy="Check the groupRef, or install the integration for this group"
            " (POST …/integrations/{integration}/installations).",
            issues=[FieldIssue("body", "groupRef", "no installation for this group", group_ref)],
        )
    installation, group, config, connection = found
    return WriteTarget(
        integration,
        revision.content,
        installation,
        config,
        connection,
        group,
        dict(project_settings or {}),
    )


@dataclass
class ObjectPlan:
    """How writes to one URL object of one installation are planned (computed once)."""

    object_name: str  # the provider object
    write_object: dict[str, Any]
    settings: WriteConfigObject | None
    mapping: WriteMapping | None


class ResolvedTarget:
    """A loaded target with its parsed config; object plans are memoised per URL object."""

    def __init__(self, target: WriteTarget) -> None:
        self.target = target
        self.content, _ = parse_content(target.config.content)
        self._plans: dict[str, ObjectPlan | None] = {}
        self.known_objects: list[str] = []

    def plan(self, url_object: str) -> ObjectPlan | None:
        if url_object not in self._plans:
            write_object, known = resolve_write_object(self.target.revision_content, url_object)
            self.known_objects = known
            plan = None
            if write_object is not None:
                name = str(write_object["objectName"])
                write = self.content.write
                settings = write.objects.get(name) if write is not None else None
                mapping = (
                    build_mapping(self.target.revision_content, self.target.config.content, name)
                    if write_object.get("inheritMapping")
                    else None
                )
                plan = ObjectPlan(name, write_object, settings, mapping)
            self._plans[url_object] = plan
        return self._plans[url_object]


class TargetCache:
    """Resolved targets for a few seconds: a write then needs no database read at all.

    Control-plane changes made through this process clear it at once (`clear`); changes made
    through another process are seen within `seconds`.
    """

    def __init__(
        self, sessions: async_sessionmaker, seconds: float = 5.0, size: int = 50_000
    ) -> None:
        self._sessions = sessions
        # bounded: when full, the least recently used target goes, not all of them
        self._entries: TTLCache[tuple[str, str, str], ResolvedTarget] = TTLCache(size, seconds)
        self._generation = 0  # bumped by clear(): a lookup begun before it is not kept

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()

    async def get(self, project_id: str, integration_ref: str, group_ref: str) -> ResolvedTarget:
        key = (project_id, integration_ref, group_ref)
        resolved = self._entries.get(key)
        if resolved is not None:
            return resolved
        generation = self._generation
        async with self._sessions() as session:
            target = await load_target(session, project_id, integration_ref, group_ref)
        resolved = ResolvedTarget(target)
        if generation == self._generation:
            self._entries[key] = resolved
        return resolved

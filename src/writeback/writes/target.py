"""What a write request addresses: integration, installation (by groupRef), config, connection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from writeback.api.problems import ApiProblem, issue, not_found
from writeback.control.projects import looks_like_uuid
from writeback.store.tables import (
    Connection,
    Group,
    Installation,
    InstallationConfig,
    Integration,
    Revision,
)


@dataclass
class WriteTarget:
    integration: Integration
    revision_content: dict[str, Any]
    installation: Installation
    config: InstallationConfig
    connection: Connection
    group: Group

    @property
    def provider(self) -> str:
        return self.integration.provider


async def load_target(
    session: AsyncSession, project_id: str, integration_ref: str, group_ref: str
) -> WriteTarget:
    condition = Integration.name == integration_ref
    if looks_like_uuid(integration_ref):
        condition = or_(Integration.id == integration_ref.lower(), condition)
    row = (
        await session.execute(
            select(Integration, Revision)
            .join(Revision, Revision.id == Integration.latest_revision_id)
            .where(Integration.project_id == project_id, condition)
        )
    ).first()
    if row is None:
        raise not_found(
            "Integration",
            integration_ref,
            "Use an integration id or name from GET /v1/projects/{project}/integrations.",
        )
    integration, revision = row
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
        raise ApiProblem(
            404,
            f"Group {group_ref!r} has no installation of integration {integration.name!r}.",
            remedy="Check the groupRef, or install the integration for this group"
            " (POST …/integrations/{integration}/installations).",
            issues=[issue("body", "groupRef", "no installation for this group", group_ref)],
        )
    installation, group, config, connection = found
    return WriteTarget(integration, revision.content, installation, config, connection, group)

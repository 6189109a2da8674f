"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 22:21:02.597099
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import writeback.store.tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "project",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("app_name", sa.String(length=128), nullable=False),
        sa.Column("org_id", sa.String(length=128), nullable=True),
        sa.Column("create_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("update_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column(
            "scopes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("create_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("update_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_key_project_id"), ["project_id"], unique=False)

    op.create_table(
        "consumer",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("consumer_ref", sa.String(length=255), nullable=False),
        sa.Column("consumer_name", sa.String(length=255), nullable=False),
        sa.Column("create_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("update_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "consumer_ref"),
    )
    op.create_table(
        "customer_group",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("group_ref", sa.String(length=255), nullable=False),
        sa.Column("group_name", sa.String(length=255), nullable=False),
        sa.Column("create_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("update_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "group_ref"),
    )
    op.create_table(
        "integration",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("latest_revision_id", sa.String(length=36), nullable=True),
        sa.Column("create_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("update_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "name"),
    )
    op.create_table(
        "provider_app",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=512), nullable=False),
        sa.Column("client_secret_encrypted", sa.Text(), nullable=False),
        sa.Column("external_ref", sa.String(length=255), nullable=True),
        sa.Column(
            "scopes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("create_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("update_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("provider_app", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provider_app_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "connection",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("provider_app_id", sa.String(length=36), nullable=True),
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("consumer_id", sa.String(length=36), nullable=False),
        sa.Column("provider_workspace_ref", sa.String(length=255), nullable=True),
        sa.Column("provider_consumer_ref", sa.String(length=512), nullable=True),
        sa.Column("auth_scheme", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("credentials_encrypted", sa.Text(), nullable=False),
        sa.Column(
            "access_token_expires_at",
            writeback.store.tables.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "scopes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "provider_metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("create_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("update_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["consumer_id"], ["consumer.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["group_id"], ["customer_group.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["provider_app_id"], ["provider_app.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("connection", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_connection_project_id"), ["project_id"], unique=False)

    op.create_table(
        "revision",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("integration_id", sa.String(length=36), nullable=False),
        sa.Column("spec_version", sa.String(length=16), nullable=False),
        sa.Column(
            "content",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("create_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["integration_id"], ["integration.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("revision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_revision_integration_id"), ["integration_id"], unique=False
        )

    op.create_table(
        "installation",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("integration_id", sa.String(length=36), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column("config_id", sa.String(length=36), nullable=True),
        sa.Column("health_status", sa.String(length=32), nullable=False),
        sa.Column("last_operation_status", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("create_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("update_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["connection_id"], ["connection.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["group_id"], ["customer_group.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["integration_id"], ["integration.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("integration_id", "group_id"),
    )
    with op.batch_alter_table("installation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_installation_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "installation_config",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("installation_id", sa.String(length=36), nullable=False),
        sa.Column("revision_id", sa.String(length=36), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column(
            "content",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("create_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["installation_id"], ["installation.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("installation_config", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_installation_config_installation_id"), ["installation_id"], unique=False
        )

    op.create_table(
        "operation",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("integration_id", sa.String(length=36), nullable=False),
        sa.Column("installation_id", sa.String(length=36), nullable=False),
        sa.Column("config_id", sa.String(length=36), nullable=True),
        sa.Column("action_type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("create_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("update_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["installation_id"], ["installation.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("operation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_operation_installation_time", ["installation_id", "create_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_operation_project_id"), ["project_id"], unique=False)

    op.create_table(
        "operation_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("operation_id", sa.String(length=36), nullable=False),
        sa.Column("timestamp", writeback.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column(
            "message",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["operation_id"], ["operation.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("operation_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operation_log_operation_id"), ["operation_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("operation_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operation_log_operation_id"))

    op.drop_table("operation_log")
    with op.batch_alter_table("operation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operation_project_id"))
        batch_op.drop_index("ix_operation_installation_time")

    op.drop_table("operation")
    with op.batch_alter_table("installation_config", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_installation_config_installation_id"))

    op.drop_table("installation_config")
    with op.batch_alter_table("installation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_installation_project_id"))

    op.drop_table("installation")
    with op.batch_alter_table("revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revision_integration_id"))

    op.drop_table("revision")
    with op.batch_alter_table("connection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connection_project_id"))

    op.drop_table("connection")
    with op.batch_alter_table("provider_app", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_app_project_id"))

    op.drop_table("provider_app")
    op.drop_table("integration")
    op.drop_table("customer_group")
    op.drop_table("consumer")
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_key_project_id"))

    op.drop_table("api_key")
    op.drop_table("project")

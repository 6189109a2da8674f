"""async writes and webhooks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 23:14:08.564433
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import writeback.store.tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "webhook",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column(
            "events",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("create_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("update_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("webhook", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_project_id"), ["project_id"], unique=False)

    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("webhook_id", sa.String(length=36), nullable=False),
        sa.Column("operation_id", sa.String(length=36), nullable=True),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", writeback.store.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "lease_expires_at", writeback.store.tables.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("create_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", writeback.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["webhook_id"], ["webhook.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_delivery_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_webhook_delivery_webhook_id"), ["webhook_id"], unique=False
        )

    op.create_table(
        "auto_batch",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("operation_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("installation_id", sa.String(length=36), nullable=False),
        sa.Column("integration_ref", sa.String(length=64), nullable=False),
        sa.Column("object_name", sa.String(length=255), nullable=False),
        sa.Column("write_type", sa.String(length=16), nullable=False),
        sa.Column("group_ref", sa.String(length=255), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("flush_at", writeback.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("retry_deadline_hours", sa.Integer(), nullable=False),
        sa.Column("create_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["installation_id"], ["installation.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["operation_id"], ["operation.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("auto_batch", schema=None) as batch_op:
        batch_op.create_index("ix_auto_batch_flush", ["open", "flush_at"], unique=False)
        batch_op.create_index(
            "ix_auto_batch_open",
            ["installation_id", "object_name", "write_type", "open"],
            unique=False,
        )

    op.create_table(
        "write_job",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("operation_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("installation_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", writeback.store.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("deadline_at", writeback.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column(
            "lease_expires_at", writeback.store.tables.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("create_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("update_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["installation_id"], ["installation.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["operation_id"], ["operation.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("write_job", schema=None) as batch_op:
        batch_op.create_index("ix_write_job_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_write_job_operation_id"), ["operation_id"], unique=False
        )

    op.create_table(
        "auto_batch_item",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "record",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "associations",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(["batch_id"], ["auto_batch.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("auto_batch_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auto_batch_item_batch_id"), ["batch_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("auto_batch_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auto_batch_item_batch_id"))

    op.drop_table("auto_batch_item")
    with op.batch_alter_table("write_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_write_job_operation_id"))
        batch_op.drop_index("ix_write_job_due")

    op.drop_table("write_job")
    with op.batch_alter_table("auto_batch", schema=None) as batch_op:
        batch_op.drop_index("ix_auto_batch_open")
        batch_op.drop_index("ix_auto_batch_flush")

    op.drop_table("auto_batch")
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_delivery_webhook_id"))
        batch_op.drop_index("ix_webhook_delivery_due")

    op.drop_table("webhook_delivery")
    with op.batch_alter_table("webhook", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_project_id"))

    op.drop_table("webhook")

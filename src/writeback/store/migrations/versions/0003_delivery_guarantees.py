"""delivery guarantees

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 13:04:45.812106
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import writeback.store.tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_key",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claim_token", sa.String(length=64), nullable=True),
        sa.Column(
            "lease_expires_at", writeback.store.tables.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column(
            "response_headers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "response_body",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("operation_id", sa.String(length=36), nullable=True),
        sa.Column("create_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", writeback.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "key"),
    )
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.create_index("ix_idempotency_key_expires", ["expires_at"], unique=False)

    op.create_table(
        "operation_attempt",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("operation_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("claim_token", sa.String(length=64), nullable=True),
        sa.Column("worker", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "plan",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "outcome",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("started_at", writeback.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", writeback.store.tables.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["operation_id"], ["operation.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("operation_id", "number"),
    )
    with op.batch_alter_table("connection", schema=None) as batch_op:
        batch_op.add_column(sa.Column("login_url", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("refresh_claim", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column(
                "refresh_claim_expires_at",
                writeback.store.tables.UtcDateTime(timezone=True),
                nullable=True,
            )
        )

    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "settings",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default=sa.text("'{}'"),
            )
        )

    with op.batch_alter_table("write_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("connection_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("claim_token", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("sending_attempt", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "unknown_since", writeback.store.tables.UtcDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_index(
            "ix_write_job_lane", ["status", "connection_id", "next_attempt_at"], unique=False
        )

    # jobs queued before this revision: their connection, from the installation
    op.execute(
        "UPDATE write_job SET connection_id = (SELECT connection_id FROM installation"
        " WHERE installation.id = write_job.installation_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("write_job", schema=None) as batch_op:
        batch_op.drop_index("ix_write_job_lane")
        batch_op.drop_column("unknown_since")
        batch_op.drop_column("sending_attempt")
        batch_op.drop_column("claim_token")
        batch_op.drop_column("connection_id")

    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.drop_column("settings")

    with op.batch_alter_table("connection", schema=None) as batch_op:
        batch_op.drop_column("refresh_claim_expires_at")
        batch_op.drop_column("refresh_claim")
        batch_op.drop_column("login_url")

    op.drop_table("operation_attempt")
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_key_expires")

    op.drop_table("idempotency_key")

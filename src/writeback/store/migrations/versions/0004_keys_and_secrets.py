"""scoped keys, rotatable secrets, webhook secret rotation

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 17:00:00
"""

import sqlalchemy as sa
from alembic import op

import writeback.store.tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "secret_keyring",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value_encrypted", sa.Text(), nullable=False),
        sa.Column("create_time", writeback.store.tables.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("webhook", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_secret_encrypted", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "previous_secret_expires_at",
                writeback.store.tables.UtcDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook", schema=None) as batch_op:
        batch_op.drop_column("previous_secret_expires_at")
        batch_op.drop_column("previous_secret_encrypted")
    op.drop_table("secret_keyring")

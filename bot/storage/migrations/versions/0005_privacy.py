"""Privacy: erasure jobs (recorded before they run, finished by the worker after a crash) and
the tickets an erasure waits for (bot/privacy).

Revision ID: 0005_privacy
Revises: 0004_inbox_search
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_privacy"
down_revision = "0004_inbox_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_erasures",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("conversation_key", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.String(255), nullable=True),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("steps_done", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_key"),
    )
    op.create_index("ix_privacy_erasures_status", "privacy_erasures", ["status"])
    op.create_table(
        "privacy_erasure_holds",
        sa.Column("ticket_id", sa.String(32), nullable=False),
        sa.Column("erasure_id", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["erasure_id"], ["privacy_erasures.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id"),
    )


def downgrade() -> None:
    op.drop_table("privacy_erasure_holds")
    op.drop_table("privacy_erasures")

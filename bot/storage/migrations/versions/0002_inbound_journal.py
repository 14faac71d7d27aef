"""The inbound journal: accepted WhatsApp messages kept until answered, replayed after a crash.

Revision ID: 0002_inbound_journal
Revises: 0001_baseline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_inbound_journal"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_inbound_journal",
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("message_type", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claim_token", sa.String(32), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("channel", "message_id"),
    )
    op.create_index(
        "ix_channel_inbound_journal_lease_until", "channel_inbound_journal", ["lease_until"]
    )
    op.create_index("ix_channel_inbound_journal_done_at", "channel_inbound_journal", ["done_at"])


def downgrade() -> None:
    op.drop_table("channel_inbound_journal")

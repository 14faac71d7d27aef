"""The review queue: patient messages the assistant was unsure about, and staff labels.

Revision ID: 0003_review_queue
Revises: 0002_inbound_journal
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_review_queue"
down_revision = "0002_inbound_journal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("reply_language", sa.String(16), nullable=True),
        sa.Column("assistant_did", sa.String(128), nullable=False),
        sa.Column("top_intents", sa.JSON(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("detector", sa.JSON(), nullable=True),
        sa.Column("label", sa.String(16), nullable=True),
        sa.Column("label_intent", sa.String(64), nullable=True),
        sa.Column("label_severity", sa.String(16), nullable=True),
        sa.Column("labelled_by", sa.String(64), nullable=True),
        sa.Column("labelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_id", "message_id", "reason", name="uq_review_message"),
    )
    op.create_index("ix_review_items_created_at", "review_items", ["created_at"])
    op.create_index("ix_review_items_conversation_id", "review_items", ["conversation_id"])
    op.create_index("ix_review_items_reason", "review_items", ["reason"])
    op.create_index("ix_review_items_label", "review_items", ["label"])


def downgrade() -> None:
    op.drop_table("review_items")

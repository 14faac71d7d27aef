"""Live handoff: who holds a conversation, the handoff thread, WhatsApp return addresses.

Revision ID: 0007_handoff
Revises: 0006_staff_roles
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_handoff"
down_revision = "0006_staff_roles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handoff_holds",
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("ticket_id", sa.String(32), nullable=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("clinician", sa.String(64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id"),
    )
    op.create_table(
        "handoff_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("ticket_id", sa.String(32), nullable=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sender", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("author", sa.String(64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(16), nullable=True),
        sa.Column("delivery", sa.String(24), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_handoff_messages_conversation_id", "handoff_messages", ["conversation_id"])
    op.create_index("ix_handoff_messages_at", "handoff_messages", ["at"])
    op.create_index("ix_handoff_messages_delivery", "handoff_messages", ["delivery"])
    op.create_table(
        "handoff_contacts",
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "conversation_id"),
    )
    op.create_index("ix_handoff_contacts_updated_at", "handoff_contacts", ["updated_at"])


def downgrade() -> None:
    op.drop_table("handoff_contacts")
    op.drop_table("handoff_messages")
    op.drop_table("handoff_holds")

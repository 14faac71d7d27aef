"""The inbox at volume: indexes for filtered, counted and paged lists, and tickets.recorded_at
(when a row was written) for live updates.

Revision ID: 0004_inbox_search
Revises: 0003_review_queue
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_inbox_search"
down_revision = "0003_review_queue"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_tickets_status_severity_created_at": ["status", "severity", "created_at"],
    "ix_tickets_status_resolved_at": ["status", "resolved_at"],
    "ix_tickets_channel_created_at": ["channel", "created_at"],
    "ix_tickets_created_at": ["created_at"],
    "ix_tickets_recorded_at": ["recorded_at"],
}


def upgrade() -> None:
    op.add_column("tickets", sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE tickets SET recorded_at = created_at")
    for name, columns in INDEXES.items():
        op.create_index(name, "tickets", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="tickets")
    op.drop_column("tickets", "recorded_at")

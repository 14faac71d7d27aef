"""Staff roles, paused accounts and the optional TOTP second factor on staff_users.

Accounts that exist before this revision become admins: until now every account could manage
the others (through the command line), so none loses what it could do and a clinic is never
left without an admin. Accounts made afterwards are staff unless made admin.

Revision ID: 0006_staff_roles
Revises: 0005_privacy
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_staff_roles"
down_revision = "0005_privacy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "staff_users",
        sa.Column("role", sa.String(16), nullable=False, server_default="staff"),
    )
    op.execute("UPDATE staff_users SET role = 'admin'")
    op.add_column("staff_users", sa.Column("paused_at", sa.DateTime(timezone=True)))
    op.add_column("staff_users", sa.Column("totp_secret", sa.String(64)))
    op.add_column("staff_users", sa.Column("totp_pending_secret", sa.String(64)))
    op.add_column("staff_users", sa.Column("totp_last_step", sa.Integer()))


def downgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        for column in ("totp_last_step", "totp_pending_secret", "totp_secret", "paused_at", "role"):
            batch.drop_column(column)

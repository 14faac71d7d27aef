"""Claiming a row with a lease: the one pattern for "exactly one process works on this row".

`claim_lease` runs `UPDATE ... SET <lease column> = now + lease WHERE <row> AND <lease column>
<= now` and reports whether it changed exactly one row. The condition and the update are one
statement, so on PostgreSQL and SQLite alike two processes racing for a row cannot both win;
whoever loses sees rowcount 0. A holder that dies simply lets the lease run out. Used by the
notification outbox (bot/tickets/notify/outbox.py) and the inbound journal
(bot/channels/whatsapp/journal.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement


def claim_lease(
    session: Session,
    model: type[Any],
    row: list[ColumnElement[bool]],
    lease_column: Any,
    now: datetime,
    lease: timedelta,
    **values: Any,
) -> bool:
    """True when this call moved the row's lease from expired (<= now) to now + lease (setting
    `values` too); False when the row is not there, not claimable or claimed by someone else."""
    changed = session.execute(
        update(model)
        .where(*row, lease_column <= now)
        .values({lease_column.key: now + lease, **values})
        .execution_options(synchronize_session=False)
    ).rowcount
    return changed == 1

"""Many tickets at once, for the inbox's volume tests: a deterministic mix of severities,
statuses, channels and ages, inserted in one statement."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert

from bot.storage.db import Database
from bot.storage.models import Ticket

CHANNELS = ("socketio", "whatsapp", "kiosk")
_COMPLAINT = "my cheek feels tight and warm "


@dataclass(frozen=True)
class Seeded:
    id: str
    severity: str
    status: str
    channel: str
    created_at: datetime
    resolved_at: datetime | None
    trigger_text: str


def seed_tickets(db: Database, count: int, newest: datetime) -> list[Seeded]:
    """`count` tickets, one a minute going back from `newest`; ids are hex like real ones."""
    seeded = []
    for n in range(count):
        severity = "emergency" if n % 50 == 7 else "urgent" if n % 5 == 1 else "routine"
        status = ("open", "acknowledged", "resolved")[n % 3]
        created_at = newest - timedelta(minutes=n)
        seeded.append(
            Seeded(
                id=hashlib.md5(f"ticket {n}".encode()).hexdigest(),
                severity=severity,
                status=status,
                channel=CHANNELS[n % len(CHANNELS)],
                created_at=created_at,
                resolved_at=created_at + timedelta(minutes=30 + n % 7)
                if status == "resolved"
                else None,
                trigger_text=f"Message number {n}: "
                + "my cheek feels tight and warm " * (2 * (n % 4)),
            )
        )
    rows = [
        {
            "id": s.id,
            "channel": s.channel,
            "conversation_id": f"seed-{n}",
            "message_id": "m1",
            "severity": s.severity,
            "symptoms": ["swelling"],
            "trigger_text": s.trigger_text,
            "transcript": [],
            "status": s.status,
            "created_at": s.created_at,
            "recorded_at": s.created_at,  # as if each was written when it was reported
            "acknowledged_by": "nurse.seed" if s.status != "open" else None,
            "acknowledged_at": s.created_at + timedelta(minutes=5) if s.status != "open" else None,
            "resolved_by": "nurse.seed" if s.resolved_at else None,
            "resolved_at": s.resolved_at,
        }
        for n, s in enumerate(seeded)
    ]
    with db.session() as session:
        session.execute(insert(Ticket), rows)
    return seeded

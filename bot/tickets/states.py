"""Ticket statuses and the actions that move a ticket between them (the one table of them).

open --acknowledge--> acknowledged --resolve--> resolved --reopen--> open
open --resolve--> resolved
"""

from __future__ import annotations

from dataclasses import dataclass

OPEN = "open"
ACKNOWLEDGED = "acknowledged"
RESOLVED = "resolved"
ACTIVE_STATUSES = (OPEN, ACKNOWLEDGED)

ACKNOWLEDGE = "acknowledge"
RESOLVE = "resolve"
REOPEN = "reopen"


@dataclass(frozen=True)
class Transition:
    """`action` moves a ticket whose status is one of `sources` to `target`; `done` is how a
    page says it happened ("You reopened this ticket")."""

    action: str
    sources: tuple[str, ...]
    target: str
    done: str


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition(ACKNOWLEDGE, (OPEN,), ACKNOWLEDGED, "acknowledged"),
        Transition(RESOLVE, ACTIVE_STATUSES, RESOLVED, "resolved"),
        Transition(REOPEN, (RESOLVED,), OPEN, "reopened"),
    )
}


def allowed_actions(status: str) -> tuple[str, ...]:
    """The actions a ticket in `status` allows, in the order a page offers them."""
    return tuple(t.action for t in TRANSITIONS.values() if status in t.sources)

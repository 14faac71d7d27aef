"""What the short load-and-fault runs (tests/e2e/test_load_faults.py on the embedded stack,
tests/cluster/test_cluster_load_faults.py on the cluster) assert about a bench/load.py result,
with the one known duplicate they may xfail on."""

from __future__ import annotations

import pytest

from bench.load import Result

# A known duplicate, not yet fixed: a WhatsApp answer that Meta's Graph API had accepted when
# a Rasa process was killed, before the channel marked its inbound-journal entry done, is sent
# again by the journal's replay (README "WhatsApp": the fix needs Meta's "sent" status callbacks
# to mark entries done). Losses are not excused: an accepted message is replayed, not lost.
WHATSAPP_SENT_THEN_KILLED = (
    "known duplicate: a WhatsApp answer being sent when Rasa was SIGKILLed is sent again by "
    "the inbound journal's replay (see tests/support/load.py)"
)


def assert_nothing_lost_or_doubled(result: Result, rasa_kill: str) -> None:
    """Every fault recovered from; 0 replies lost or duplicated, every emergency instructed,
    0 tickets lost, duplicated or unexpected, every notification exactly once.

    xfails only when, everything else holding, the duplicated replies are all WhatsApp ones
    and a fault `rasa_kill` (one that SIGKILLs a Rasa process) ran: the known duplicate above."""
    table = result.table()
    assert all(f.recovered_seconds is not None for f in result.faults), table
    total, tickets = result.total, result.tickets
    assert total.emergencies > 0, table
    assert {f.channel for f in result.by_channel if f.messages} == {"rest", "socketio", "whatsapp"}
    assert total.lost == 0, table
    assert total.emergencies_instructed == total.emergencies, table
    assert tickets.expected > 0, table
    assert (tickets.lost, tickets.duplicated, tickets.unexpected) == (0, 0, 0), table
    assert tickets.notified_not_once == 0, table
    duplicated_on = {f.channel for f in result.by_channel if f.duplicated}
    if duplicated_on == {"whatsapp"} and rasa_kill in {f.name for f in result.faults}:
        pytest.xfail(WHATSAPP_SENT_THEN_KILLED + "\n" + table)
    assert total.duplicated == 0, table

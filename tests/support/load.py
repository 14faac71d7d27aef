"""What the short load-and-fault runs (tests/e2e/test_load_faults.py on the embedded stack,
tests/cluster/test_cluster_load_faults.py on the cluster) assert about a bench/load.py result,
with the two known failures they may xfail on."""

from __future__ import annotations

import pytest

from bench.load import Result

# A known duplicate, not yet fixed: a WhatsApp answer that Meta's Graph API had accepted when
# a Rasa process was killed, before the channel marked its inbound-journal entry done, is sent
# again by the journal's replay (README "WhatsApp": the fix needs Meta's "sent" status callbacks
# to mark entries done). Losses are not excused: an accepted message is replayed, not lost.
# A known failure, not yet explained: on the cluster, a WhatsApp message that a replica accepted
# just as the other replica was SIGKILLed was once (CI, 2026-11-29; one of 164 messages) answered
# only with the channel's technical-problem apology: `on_new_message` raised in the surviving
# replica (likely waiting on the conversation lock the killed replica held). The patient is told
# to try again, but the question is unanswered; counted as lost and excused only in exactly that
# form (README "Load and faults"). Since 2026-12-01 the channel answers a report or a cry for help
# in that window itself (bot/triage/failsafe.py), so only a question can be excused; and a
# message whose conversation lock vanished while it waited (Rasa's "Could not acquire lock", the
# likely cause) takes a fresh ticket instead of failing (bot/rasa/patches.py, fix 6).
WHATSAPP_APOLOGY_AT_KILL = (
    "known failure: a WhatsApp message accepted as a Rasa replica was SIGKILLed got only the "
    "technical-problem apology (see tests/support/load.py)"
)
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
    lost = result.lost_messages
    if lost and all(
        m.channel == "whatsapp" and m.accepted and m.apologised and rasa_kill in m.during
        for m in lost
    ):
        assert (tickets.lost, tickets.duplicated, tickets.unexpected) == (0, 0, 0), table
        assert total.duplicated == 0 and tickets.notified_not_once == 0, table
        assert total.emergencies_instructed == total.emergencies, table  # never excused
        pytest.xfail(WHATSAPP_APOLOGY_AT_KILL + "\n" + table)
    assert total.lost == 0, table
    assert total.emergencies_instructed == total.emergencies, table
    assert tickets.expected > 0, table
    assert (tickets.lost, tickets.duplicated, tickets.unexpected) == (0, 0, 0), table
    assert tickets.notified_not_once == 0, table
    duplicated_on = {f.channel for f in result.by_channel if f.duplicated}
    if duplicated_on == {"whatsapp"} and rasa_kill in {f.name for f in result.faults}:
        pytest.xfail(WHATSAPP_SENT_THEN_KILLED + "\n" + table)
    assert total.duplicated == 0, table

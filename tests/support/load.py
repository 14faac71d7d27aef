"""What the short load-and-fault runs (tests/e2e/test_load_faults.py on the embedded stack,
tests/cluster/test_cluster_load_faults.py on the cluster) assert about a bench/load.py result,
with the one known loss they may xfail on."""

from __future__ import annotations

import pytest

from bench.load import Catalogue, Result

# A known loss, not yet fixed: the WhatsApp channel answers Meta's webhook with 200 at once and
# handles the message in a background task of the Rasa process (bot/rasa/channels/whatsapp/
# input.py, as Meta asks and tests/channels/test_whatsapp_webhook.py requires), after recording
# its id as seen. A Rasa process SIGKILLed between the 200 and the reply loses that message: Meta
# does not deliver it again after a 200, and a redelivery would be skipped as already seen.
# Fixing it needs a durable inbound journal (accepted, answered) that a restarted Rasa replays.
WHATSAPP_ACCEPTED_THEN_KILLED = (
    "known loss: a WhatsApp message accepted (200) by a Rasa process that is then SIGKILLed "
    "before replying is never answered (see tests/support/load.py)"
)


def assert_nothing_lost_or_doubled(result: Result, rasa_kill: str) -> None:
    """Every fault recovered from; 0 replies lost or duplicated, every emergency instructed,
    0 tickets lost, duplicated or unexpected, every notification exactly once.

    xfails only when every lost reply is a WhatsApp message accepted and then caught by
    `rasa_kill` (the fault that SIGKILLs a Rasa process: the known loss above), and the only
    other shortfalls are those same messages' own: their emergency instruction and their ticket
    (the killed process never saw them). Everything else is still asserted first."""
    table = result.table()
    assert all(f.recovered_seconds is not None for f in result.faults), table
    total, tickets = result.total, result.tickets
    assert total.emergencies > 0, table
    assert {f.channel for f in result.by_channel if f.messages} == {"rest", "socketio", "whatsapp"}
    assert total.duplicated == 0, table
    assert (tickets.duplicated, tickets.unexpected, tickets.notified_not_once) == (0, 0, 0), table
    assert tickets.expected > 0, table
    lost = result.lost_messages
    known = bool(lost) and all(
        m.channel == "whatsapp" and m.accepted and rasa_kill in m.during for m in lost
    )
    if known:
        lost_ids = {m.id for m in lost}
        emergencies = {
            s.text
            for reports in Catalogue.load().reports.values()
            for severity, s in reports.items()
            if severity == "emergency"
        }
        lost_emergencies = sum(m.text in emergencies for m in lost)
        assert total.emergencies - total.emergencies_instructed <= lost_emergencies, table
        no_ticket = [p for p in tickets.problems if p.startswith("no ticket: ")]
        assert len(no_ticket) == tickets.lost, table
        assert all(p.split()[3] in lost_ids for p in no_ticket), table
        pytest.xfail(WHATSAPP_ACCEPTED_THEN_KILLED + "\n" + table)
    assert total.lost == 0, table
    assert total.emergencies_instructed == total.emergencies, table
    assert tickets.lost == 0, table

"""The short form of bench/load.py: ten concurrent conversations over REST, socket.io and WhatsApp
on the shared stack while Rasa and then the action server are SIGKILLed (supervisor restarts
them). Nothing a patient or the clinic needs may be lost or doubled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.load import MESSAGES_FILE, Catalogue, run_load
from bench.load_targets import EmbeddedTarget
from bot.paths import PROJECT_ROOT
from bot.serve import Stack
from tests.channels.whatsapp_fakes import FakeGraph
from tests.stack import WebhookReceiver
from tests.support.load import assert_nothing_lost_or_doubled

pytestmark = pytest.mark.e2e


def _items(node: Any) -> list[dict[str, Any]]:
    """Every mapping with a `text` in a parsed regression file."""
    if isinstance(node, dict):
        own = [node] if "text" in node else []
        return own + [i for v in node.values() for i in _items(v)]
    if isinstance(node, list):
        return [i for v in node for i in _items(v)]
    return []


def _regression_outcomes(source: str, text: str) -> set[str]:
    """What the regression files at `source` (a file or a folder) say about `text`: the topic
    of a question, the severity of a report, or "present" for a test module quoting it."""
    path = PROJECT_ROOT / source
    files = sorted(path.rglob("*.yml")) if path.is_dir() else [path]
    found: set[str] = set()
    for file in files:
        if file.suffix == ".py":
            found |= {"present"} if text in file.read_text(encoding="utf-8") else set()
            continue
        for item in _items(yaml.safe_load(file.read_text(encoding="utf-8"))):
            if item["text"] == text:
                found.add(str(item.get("expected") or item.get("intent", "")).removeprefix("ask_"))
    return found


def test_every_load_message_has_the_outcome_its_regression_set_gives_it() -> None:
    data = yaml.safe_load(Path(MESSAGES_FILE).read_text(encoding="utf-8"))
    checked = 0
    for lang in data.values():
        for entry in lang["questions"] + lang["follow_ups"]:
            assert entry["topic"] in _regression_outcomes(entry["from"], entry["text"]), entry
            checked += 1
        for severity, entry in lang["reports"].items():
            outcomes = _regression_outcomes(entry["from"], entry["text"])
            assert severity in outcomes or outcomes == {"present"}, (severity, entry)
            checked += 1
    assert checked == 4 * 7
    assert set(Catalogue.load().reports) == {"en", "hinglish", "hi", "ar"}


async def test_no_reply_ticket_or_notification_is_lost_or_doubled_when_rasa_and_actions_die(
    rasa_stack: Stack, webhook_receiver: WebhookReceiver, whatsapp_graph: FakeGraph
) -> None:
    target = EmbeddedTarget(rasa_stack, webhook_receiver, whatsapp_graph)
    result = await run_load(target, conversations=10, duration=30.0)
    print(result.table())
    assert [f.name for f in result.faults] == ["kill_rasa", "kill_actions"]
    assert_nothing_lost_or_doubled(result, rasa_kill="kill_rasa")

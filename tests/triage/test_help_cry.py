"""Cries for help that name no symptom (data/triage/help_cries.yml)."""

from __future__ import annotations

import pytest

from bot.triage.detect import triage
from bot.triage.help_cry import help_cries


@pytest.mark.parametrize(
    "text",
    [
        "help",
        "HELPPP",
        "please help urgent",
        "help me please!!",
        "🆘",
        "😭😭",
        "ambulance",
        "call 911 now",
        "koi madad karo jaldi",
        "बचाओ",
        "ساعدوني",
        "الحقوني",
        "is3af",
    ],
)
def test_cries_for_help(text: str) -> None:
    assert help_cries().is_cry(text)


@pytest.mark.parametrize(
    "text",
    [
        "can you help me choose a package",
        "how urgent is the booking",
        "I need help with pricing",
        "thanks for the help yesterday, the results look good",
        "👍",
        "",
    ],
)
def test_not_cries_for_help(text: str) -> None:
    assert not help_cries().is_cry(text)


def test_a_symptom_wins_over_a_cry() -> None:
    result = triage("help my lips are swelling")
    assert result.severity == "emergency"
    assert not result.help_request


def test_cry_without_symptom_is_flagged_not_escalated() -> None:
    result = triage("please help urgent", detector=None)
    assert result.severity is None and result.help_request

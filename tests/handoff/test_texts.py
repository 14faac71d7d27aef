"""What a patient sees of a handoff, in each reply language."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.clinic import clinic_config
from bot.handoff import store
from bot.handoff.texts import display_name, patient_text
from bot.language.identify import language_settings


def _line(kind: str, text: str = "") -> store.ThreadLine:
    return store.ThreadLine(
        id=1,
        conversation_id="c",
        channel="socketio",
        at=datetime.now(timezone.utc),
        sender=store.CLINICIAN,
        kind=kind,
        author="nurse.anna",
        text=text,
        lang=None,
        delivery=store.PENDING,
        detail=None,
    )


@pytest.mark.parametrize(
    ("username", "shown"),
    [("nurse.anna", "Nurse Anna"), ("dr_bose", "Dr Bose"), ("anna", "Anna"), ("", "A clinician")],
)
def test_display_name(username: str, shown: str) -> None:
    assert display_name(username) == shown


@pytest.mark.parametrize("lang", language_settings().replies)
def test_notices_name_the_clinician_and_the_emergency_number_in_every_language(lang: str) -> None:
    clinic = clinic_config()
    joined = patient_text(_line(store.JOINED), lang, clinic)
    back = patient_text(_line(store.HANDED_BACK), lang, clinic)
    for text in (joined, back):
        assert "Nurse Anna" in text and clinic.emergency_number in text
        assert "{" not in text  # every placeholder filled
    assert joined != back
    if lang != "en":
        english = patient_text(_line(store.JOINED), "en", clinic)
        assert joined != english  # written in the patient's language


def test_a_message_goes_as_typed_after_the_name() -> None:
    text = patient_text(_line(store.MESSAGE, "<b>hi</b>"), "hi", clinic_config())
    assert text == "Nurse Anna: <b>hi</b>"

"""Understanding in every language does not slip below what the spent blind sets showed.

Every blind set under tests/nlu_eval (blind_d, blind_e, …) was measured once on first contact
(README, "NLU in four languages") and committed with its figures; they now guard against
regressions. The floors sit a little
under today's figures: they catch a change that breaks a language, not noise."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from bot.paths import MODELS_DIR, PROJECT_ROOT

SETS = PROJECT_ROOT / "tests" / "nlu_eval"
LANGUAGES = ("en", "hinglish", "hi", "ar")
MIN_TOPIC_ACCURACY = 0.78
MIN_OUT_OF_SCOPE_RECALL = 0.72
MIN_REPLY_LANGUAGE = 0.98

# Classifying every spent blind set (about 9,000 questions) takes minutes on a busy 2-core machine,
# in two processes; `make pytest` runs it beside the stack tests (marker `guard`).
pytestmark = [pytest.mark.timeout(1800), pytest.mark.guard]


def spent_blind_sets() -> list[str]:
    """The blind sets whose first contact is recorded (a set is committed with it)."""
    return sorted(p.name for p in SETS.glob("blind_*") if p.is_dir())


@pytest.fixture(scope="module")
def predictions():  # type: ignore[no-untyped-def]
    model = MODELS_DIR / "current.tar.gz"
    if not model.is_file():
        pytest.skip("no trained model (make train)")
    sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
    import eval_nlu

    questions = [
        q
        for blind in spent_blind_sets()
        for lang in LANGUAGES
        for q in eval_nlu.load_questions(SETS / blind / f"{lang}.yml")
    ]
    leaked = set(eval_nlu.leaked_questions(questions, eval_nlu.DEFAULT_NLU))
    questions = [q for q in questions if q.text not in leaked]
    workers = min(2, os.cpu_count() or 1)
    return eval_nlu, eval_nlu.predict_in_processes(Path(model), questions, workers)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_language_keeps_its_understanding(predictions, lang: str) -> None:  # type: ignore[no-untyped-def]
    eval_nlu, all_predictions = predictions
    rows = [p for p in all_predictions if p.lang == lang]
    report = eval_nlu.build_report(Path("-"), rows)
    assert report.topic_accuracy >= MIN_TOPIC_ACCURACY, report.top_confusions
    assert report.oos_recall >= MIN_OUT_OF_SCOPE_RECALL, report.top_confusions
    expected = eval_nlu.EXPECTED_REPLY[lang]
    right = sum(p.reply_lang == expected for p in rows) / len(rows)
    assert right >= MIN_REPLY_LANGUAGE, [p.text for p in rows if p.reply_lang != expected]

"""Symptom detection and severity: a spaCy + medspaCy pipeline over data/triage/*.yml.

    from bot.triage.detect import triage
    result = triage("my lips are swelling and I can't breathe")
    result.severity   # "emergency"
    result.symptoms   # ["lip_swelling", "breathing_difficulty"]

Components (registered spaCy factories, in order): meso_normaliser, sentencizer,
meso_symptom_matcher, meso_context (medspaCy ConText), meso_mention_status, meso_modifiers,
meso_severity.
"""

from .pipeline import build_pipeline, pipeline, triage, triage_rules

__all__ = ["build_pipeline", "pipeline", "triage", "triage_rules"]

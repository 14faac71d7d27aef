"""Symptom triage: find symptom mentions, decide whose and whether current, grade, escalate."""

"""Symptom triage: find symptom mentions, decide whose and whether real, grade severity, escalate."""

"""Rasa NLU components: the input guard and symptom triage (config.yml pipeline)."""

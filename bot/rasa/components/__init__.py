"""Rasa NLU components (config.yml pipeline): the sentence-embedding featurizer, the reply
language, the input guard and symptom triage."""

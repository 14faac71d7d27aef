"""Domain logic of the mesotherapy patient-education assistant, testable without Rasa.

Rooms: knowledge (cited answers), evidence (evidence notes), replies (the answer envelope every
channel renders), triage (symptom detection and escalation), storage (SQL models and sessions),
channels (WhatsApp), web (widget, kiosk, clinician inbox).
"""

"""Intake: recognising messages the assistant cannot treat as a question (empty, unreadable)."""

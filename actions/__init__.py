"""Rasa SDK action server adapters: translate between Rasa and bot/, hold no business rules."""

"""Messaging channels that connect Rasa to outside services (WhatsApp Cloud API)."""

"""Rasa input channels that keep each reply one message: REST, socket.io, WhatsApp."""

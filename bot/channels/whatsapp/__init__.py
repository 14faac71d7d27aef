"""WhatsApp Cloud API: parsing webhooks, rendering replies, the Graph API client and delivery.

The Rasa channel that uses them is bot/rasa/channels/whatsapp.
"""

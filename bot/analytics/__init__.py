"""Figures about the clinic's work, aggregated in SQL: tickets (bot.storage) and the questions and
replies Rasa stored in its tracker store. bot/web/clinician/charts.py draws them."""

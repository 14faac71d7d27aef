"""Clinician inbox at /clinician: staff sign in, see escalated tickets, acknowledge, resolve and
reopen them. Routes, pages, accounts and sessions live here; ticket logic is bot/tickets."""

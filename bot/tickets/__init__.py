"""Tickets: everything about a reported message from creation to resolution, in one room.

report.py     the Report of an escalated message (from Rasa events or the spool)
records.py    record_report: one ticket per message, its outbox rows and audit row; the reference
callback.py   the patient's callback number: validated, stored on the ticket only
states.py     statuses and which action moves a ticket from which status to which
lifecycle.py  acknowledge, resolve, reopen: conditional updates, each with its audit row
queries.py    what the clinician inbox shows about a ticket
inbox_search.py  the inbox's lists at volume: filters, counts, pages, snippets, new tickets
audit.py      the audit trail: the one writer of audit rows, and its readers
spool.py      durable spool for reports the database could not take
notify/       the notification outbox, its webhook and e-mail senders, and the worker
"""

"""Live handoff: a clinician takes a conversation over from a ticket, writes to the patient on
their own channel, and hands it back to the assistant.

store.py holds the records (holds, the thread, WhatsApp return addresses) and their retention;
texts.py the words the patient sees. The Rasa side (pausing the assistant, sending, keeping
triage on) is bot/rasa/handoff.py; the clinician's pages are bot/web/clinician/handoff.py.
"""

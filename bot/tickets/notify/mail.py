"""E-mail sender: one message per ticket over SMTP (smtplib, run in a thread).

The Message-ID is derived from the ticket id, so a repeated delivery is recognisably the same
mail. The mail names severity, symptoms and channel and links to the inbox; the patient's words
stay in the inbox (e-mail often crosses servers the clinic does not control).
"""

from __future__ import annotations

import asyncio
import logging
import os
import smtplib
import ssl
from email.message import EmailMessage

from bot.clinic import EmailSettings
from bot.tickets.notify.notice import DeliveryError, TicketNotice

logger = logging.getLogger(__name__)

FALLBACK_DOMAIN = "meso-assistant.invalid"


def message_id(ticket_id: str, sender: str) -> str:
    domain = sender.rpartition("@")[2].strip(" >") or FALLBACK_DOMAIN
    return f"<ticket-{ticket_id}@{domain}>"


def compose(notice: TicketNotice, settings: EmailSettings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    message["Subject"] = f"[{notice.severity.upper()}] Symptom report, ticket {notice.ticket_id}"
    message["Message-ID"] = message_id(notice.ticket_id, settings.sender)
    symptoms = ", ".join(notice.symptoms) or "(not named)"
    message.set_content(
        "A patient reported a symptom to the assistant.\n\n"
        f"Severity: {notice.severity}\n"
        f"Symptoms: {symptoms}\n"
        f"Channel: {notice.channel}\n"
        f"Reported at: {notice.created_at.isoformat()}\n"
        f"Ticket: {notice.ticket_id}\n\n"
        f"Open it in the clinician inbox: {notice.link}\n"
    )
    return message


class EmailSender:
    def __init__(self, settings: EmailSettings, timeout_seconds: float = 15.0) -> None:
        self.settings = settings
        self.timeout_seconds = timeout_seconds

    async def send(self, notice: TicketNotice) -> None:
        message = compose(notice, self.settings)
        try:
            await asyncio.to_thread(self._send_sync, message)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"e-mail not sent: {type(exc).__name__}: {exc}") from exc

    def _send_sync(self, message: EmailMessage) -> None:
        settings = self.settings
        with smtplib.SMTP(settings.host, settings.port, timeout=self.timeout_seconds) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            credentials = self._credentials()
            if credentials:
                smtp.login(*credentials)
            refused = smtp.send_message(message)
        if refused:  # the others got it; a retry would send them a duplicate
            logger.warning("SMTP server refused some recipients: %s", sorted(refused))

    def _credentials(self) -> tuple[str, str] | None:
        settings = self.settings
        if not settings.username_env:
            return None
        username = os.environ.get(settings.username_env)
        password = os.environ.get(settings.password_env or "")
        if not username or password is None:
            raise DeliveryError(
                f"SMTP credentials missing: set {settings.username_env} and "
                f"{settings.password_env or '(password_env not configured)'}"
            )
        return username, password

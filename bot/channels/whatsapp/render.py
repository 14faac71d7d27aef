"""Turning the messages of one bot turn into WhatsApp Cloud API message bodies.

Rules (WhatsApp's limits in brackets):
- An escalation goes first and in one piece, whatever its length.
- Other text is split on paragraph, then line, sentence and word boundaries [4096 characters].
- Buttons become reply buttons [3; title 20, id 256] or, when there are more, a list
  [10 rows; row title 24, row id 200, button label 20]. An interactive body is limited
  [1024], so a longer text goes first as text and the buttons follow under a short prompt.
- Each Rasa message is one bot response. One with a `meso` envelope is rendered from the
  envelope (body, then "Evidence note: ..." and "Sources: title (file)", never dropped, and the
  envelope's buttons); one without is rendered from its text and buttons.
- The privacy notice (an envelope's `notice`, bot/replies/notice.py) goes last, as a text
  message of its own with the policy link written out, after every reply of the turn: an
  emergency's instruction is never held up or crowded by it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.channels.whatsapp.texts import ChannelTexts
from bot.replies.notice import NOTICE_KEY, notice_text
from bot.replies.texts import reply_texts

logger = logging.getLogger(__name__)

TEXT_LIMIT = 4096
INTERACTIVE_BODY_LIMIT = 1024
MAX_REPLY_BUTTONS = 3
BUTTON_TITLE_LIMIT = 20
BUTTON_ID_LIMIT = 256
MAX_LIST_ROWS = 10
ROW_TITLE_LIMIT = 24
ROW_DESCRIPTION_LIMIT = 72
ROW_ID_LIMIT = 200


# Coarsest first: paragraphs, lines, sentences, words.
_BOUNDARIES = (r"\n{2,}", r"\n", r"(?<=[.!?;:])\s+", r"\s+")
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)

Message = dict[str, Any]


@dataclass(frozen=True)
class _Part:
    text: str = ""
    buttons: tuple[dict[str, Any], ...] = ()
    image: str | None = None
    escalation: bool = False
    lang: str = "en"
    notice: str = ""  # the privacy notice as text, sent after the turn's replies


class TurnRenderer:
    """Renders the Rasa messages of one turn into an ordered list of WhatsApp messages."""

    def __init__(self, texts: ChannelTexts | Mapping[str, ChannelTexts]) -> None:
        """`texts`: the channel's texts by reply language (one set: used for every language)."""
        self.by_language = texts if isinstance(texts, Mapping) else {"en": texts}
        self.texts = self.by_language.get("en") or next(iter(self.by_language.values()))

    def _texts(self, lang: str) -> ChannelTexts:
        return self.by_language.get(lang, self.texts)

    def render(self, messages: Sequence[Message]) -> list[Message]:
        parts = _parts(messages)
        ordered = [p for p in parts if p.escalation] + [p for p in parts if not p.escalation]
        out: list[Message] = []
        for part in ordered:
            out.extend(self._render_part(part))
        for part in parts:
            out.extend(text_message(p) for p in split_text(part.notice, TEXT_LIMIT))
        return out

    def _render_part(self, part: _Part) -> list[Message]:
        if part.image:
            return [{"type": "image", "image": {"link": part.image}}]
        pieces = [part.text] if part.escalation else split_text(part.text, TEXT_LIMIT)
        if not part.buttons:
            return [text_message(p) for p in pieces if p]
        if len(pieces) == 1 and 0 < len(pieces[0]) <= INTERACTIVE_BODY_LIMIT:
            return [self.interactive(pieces[0], part.buttons, part.lang)]
        texts = self._texts(part.lang)
        prompt = self.interactive(texts.choose_prompt, part.buttons, part.lang)
        return [text_message(p) for p in pieces if p] + [prompt]

    def interactive(
        self, body: str, buttons: Sequence[dict[str, Any]], lang: str = "en"
    ) -> Message:
        """Reply buttons for up to three options, a list message for more."""
        options = _unique_options(buttons)
        if len(options) <= MAX_REPLY_BUTTONS:
            action: dict[str, Any] = {
                "buttons": [
                    {"type": "reply", "reply": {"id": _id(o, BUTTON_ID_LIMIT), "title": t}}
                    for o, t in zip(options, _titles(options, BUTTON_TITLE_LIMIT), strict=True)
                ]
            }
            kind = "button"
        else:
            if len(options) > MAX_LIST_ROWS:
                logger.info(
                    "whatsapp: %d options; the first %d are sent", len(options), MAX_LIST_ROWS
                )
                options = options[:MAX_LIST_ROWS]
            rows = []
            for option, title in zip(options, _titles(options, ROW_TITLE_LIMIT), strict=True):
                row = {"id": _id(option, ROW_ID_LIMIT), "title": title}
                if title != option["title"]:
                    row["description"] = shorten(option["title"], ROW_DESCRIPTION_LIMIT)
                rows.append(row)
            action = {"button": self._texts(lang).list_button, "sections": [{"rows": rows}]}
            kind = "list"
        return {
            "type": "interactive",
            "interactive": {"type": kind, "body": {"text": body}, "action": action},
        }


def text_message(body: str) -> Message:
    return {"type": "text", "text": {"body": body, "preview_url": False}}


def envelope_text(envelope: dict[str, Any]) -> str:
    """Body in WhatsApp markup, then the evidence note and the sources, labelled in the
    envelope's language (data/replies*.yml `answer_frame`)."""
    frame = reply_texts(str(envelope.get("lang") or "en")).frame
    parts = [whatsapp_markup(str(envelope.get("body") or "").strip())]
    if envelope.get("disclaimer"):
        parts.append(f"{frame['evidence_note']} {envelope['disclaimer']}")
    citations = [c for c in envelope.get("citations") or () if isinstance(c, dict)]
    if citations:
        listed = "; ".join(f"{c.get('title', '')} ({c.get('file', '')})" for c in citations)
        parts.append(f"{frame['sources']} {listed}")
    return "\n\n".join(p for p in parts if p)


def whatsapp_markup(text: str) -> str:
    """The envelope's markdown subset in WhatsApp's: **bold** becomes *bold*."""
    return _BOLD.sub(r"*\1*", text)


def split_text(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at the coarsest boundary that fits."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    return [c.strip() for c in _split(text, limit, 0) if c.strip()]


def _split(text: str, limit: int, level: int) -> list[str]:
    if len(text) <= limit:
        return [text]
    if level == len(_BOUNDARIES):
        return [text[i : i + limit] for i in range(0, len(text), limit)]
    pieces = re.split(f"({_BOUNDARIES[level]})", text)
    # re.split keeps the separators at odd positions; attach each to the text before it.
    units = [a + b for a, b in zip(pieces[::2], [*pieces[1::2], ""], strict=True)]
    chunks: list[str] = []
    current = ""
    for unit in units:
        if len(current) + len(unit.rstrip()) <= limit:
            current += unit
            continue
        if current.strip():
            chunks.append(current)
        if len(unit.rstrip()) > limit:
            chunks.extend(_split(unit, limit, level + 1))
            current = ""
        else:
            current = unit
    if current.strip():
        chunks.append(current)
    return chunks


def shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` characters at a word boundary where possible, marked with '…'."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def _titles(options: Sequence[dict[str, str]], limit: int) -> list[str]:
    """Shortened titles, kept unique within the message as WhatsApp requires."""
    seen: set[str] = set()
    titles = []
    for number, option in enumerate(options, start=1):
        title = shorten(option["title"], limit) or str(number)
        if title in seen:
            title = shorten(option["title"], limit - 3) + f" {number}"
        seen.add(title)
        titles.append(title)
    return titles


def _id(option: dict[str, str], limit: int) -> str:
    payload = option["payload"]
    if 0 < len(payload) <= limit:
        return payload
    logger.warning("whatsapp: button payload too long for WhatsApp; the title is used instead")
    return option["title"][:limit]


def _unique_options(buttons: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    options: list[dict[str, str]] = []
    payloads: set[str] = set()
    for button in buttons:
        if not isinstance(button, dict):
            continue
        title = str(button.get("title") or "").strip()
        payload = str(button.get("payload") or title).strip()
        if title and payload not in payloads:
            payloads.add(payload)
            options.append({"title": title, "payload": payload})
    return options


def _envelope(message: Message) -> dict[str, Any] | None:
    custom = message.get("custom")
    meso = custom.get("meso") if isinstance(custom, dict) else None
    return meso if isinstance(meso, dict) else None


def _parts(messages: Sequence[Message]) -> list[_Part]:
    parts: list[_Part] = []
    for message in messages:
        envelope = _envelope(message)
        if envelope is not None:
            parts.append(
                _Part(
                    text=envelope_text(envelope),
                    buttons=tuple(envelope.get("buttons") or message.get("buttons") or ()),
                    escalation=envelope.get("kind") == "escalation"
                    or bool(envelope.get("escalation")),
                    lang=str(envelope.get("lang") or "en"),
                    notice=notice_text(envelope.get(NOTICE_KEY)),
                )
            )
            continue
        if message.get("custom") is not None:
            logger.debug("whatsapp: skipped a custom payload this channel does not render")
        if message.get("image"):
            parts.append(_Part(image=str(message["image"])))
        if message.get("attachment"):
            parts.append(_Part(text=str(message["attachment"])))
        text = message.get("text")
        buttons = tuple(message.get("buttons") or message.get("quick_replies") or ())
        if text or buttons:
            parts.append(_Part(text=whatsapp_markup(str(text or "").strip()), buttons=buttons))
    return parts

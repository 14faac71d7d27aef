"""Turning a knowledge-base topic into a `Reply`, in a reply language: the answer, where
sources differ, the clinic's own prices. The frame's words come from data/replies*.yml."""

from __future__ import annotations

from bot.clinic import ClinicConfig
from bot.knowledge.snapshot import KnowledgeSnapshot, TopicEntry
from bot.replies.fill import fill
from bot.replies.payloads import topic_payload
from bot.replies.reply import Button, Reply
from bot.replies.texts import reply_texts


def topic_button(entry: TopicEntry) -> Button:
    return Button(title=entry.button_label, payload=topic_payload(entry.id))


def _disagreement_lines(
    kb: KnowledgeSnapshot, entry: TopicEntry, frame: dict[str, str], clinic: ClinicConfig
) -> list[str]:
    lines: list[str] = []
    for disagreement in entry.disagreements:
        point = disagreement.point[:1].lower() + disagreement.point[1:]
        lines.append(fill(frame["sources_differ"], clinic, point=point))
        for says, source_ids in disagreement.views:
            who = "; ".join(kb.source_title(s) for s in source_ids)
            lines.append(f"- {says} ({who})")
    return lines


def _price_lines(clinic: ClinicConfig, frame: dict[str, str]) -> list[str]:
    if not clinic.prices:
        return []
    lines = [fill(frame["own_prices"], clinic)]
    lines += [
        fill(
            frame["price_line"],
            clinic,
            treatment=p.treatment,
            price=clinic.format_price(p.amount),
            per=p.per,
        )
        for p in clinic.prices
    ]
    return lines


def compose_topic_answer(
    kb: KnowledgeSnapshot, topic_id: str, clinic: ClinicConfig, lang: str = "en"
) -> Reply:
    """The answer for one topic in `lang` (English when the snapshot lacks that language).
    Raises KeyError for an unknown topic."""
    lang = lang if lang in kb.languages else "en"
    entry = kb.topic(topic_id, lang)
    if entry is None:
        raise KeyError(topic_id)
    frame = reply_texts(lang).frame
    sections: list[str] = []
    if entry.uses_clinic_prices:
        prices = _price_lines(clinic, frame)
        if prices:
            sections.append("\n".join(prices))
            sections.append(fill(frame["compare"], clinic))
    sections.append(entry.answer)
    if entry.uses_clinic_prices and not clinic.prices:
        sections.append(fill(frame["call_for_price"], clinic))
    differ = _disagreement_lines(kb, entry, frame, clinic)
    if differ:
        sections.append("\n".join(differ))
    related = [kb.topic(r, lang) for r in entry.related]
    return Reply(
        kind="answer",
        body="\n\n".join(sections),
        topic=entry.id,
        efficacy=entry.efficacy,
        evidence_note=entry.evidence_note,
        citations=entry.citations,
        buttons=tuple(topic_button(r) for r in related[:3] if r is not None),
        benefit_detector=kb.detector(lang),
        knowledge_version=kb.version,
        lang=lang,
    )

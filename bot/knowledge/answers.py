"""Turning a knowledge-base topic into a `Reply`: answer, where sources differ, clinic prices."""

from __future__ import annotations

from bot.clinic import ClinicConfig
from bot.knowledge.snapshot import KnowledgeSnapshot, TopicEntry
from bot.replies.payloads import topic_payload
from bot.replies.reply import Button, Reply


def topic_button(entry: TopicEntry) -> Button:
    return Button(title=entry.button_label, payload=topic_payload(entry.id))


def _disagreement_lines(kb: KnowledgeSnapshot, entry: TopicEntry) -> list[str]:
    lines: list[str] = []
    for disagreement in entry.disagreements:
        point = disagreement.point[:1].lower() + disagreement.point[1:]
        lines.append(f"**Sources differ on {point}:**")
        for says, source_ids in disagreement.views:
            who = "; ".join(kb.source_title(s) for s in source_ids)
            lines.append(f"- {says} ({who})")
    return lines


def _price_lines(clinic: ClinicConfig) -> list[str]:
    if not clinic.prices:
        return []
    lines = [f"**{clinic.name}'s own prices:**"]
    lines += [
        f"- {p.treatment}: {clinic.format_price(p.amount)} per {p.per}" for p in clinic.prices
    ]
    return lines


def compose_topic_answer(kb: KnowledgeSnapshot, topic_id: str, clinic: ClinicConfig) -> Reply:
    """The answer for one topic. Raises KeyError for an unknown topic."""
    entry = kb.topic(topic_id)
    if entry is None:
        raise KeyError(topic_id)
    sections: list[str] = []
    if entry.uses_clinic_prices:
        prices = _price_lines(clinic)
        if prices:
            sections.append("\n".join(prices))
            sections.append("For comparison, what the sources report:")
    sections.append(entry.answer)
    if entry.uses_clinic_prices and not clinic.prices:
        sections.append(f"For {clinic.name}'s own price, call {clinic.phone}.")
    differ = _disagreement_lines(kb, entry)
    if differ:
        sections.append("\n".join(differ))
    related = [kb.topic(r) for r in entry.related]
    return Reply(
        kind="answer",
        body="\n\n".join(sections),
        topic=entry.id,
        efficacy=entry.efficacy,
        evidence_note=entry.evidence_note,
        citations=entry.citations,
        buttons=tuple(topic_button(r) for r in related[:3] if r is not None),
        benefit_detector=kb.benefit_detector,
        knowledge_version=kb.version,
    )

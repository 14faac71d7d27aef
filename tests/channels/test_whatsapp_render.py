"""Rendering one bot turn into WhatsApp messages: order, limits, buttons, the evidence note."""

from __future__ import annotations

from typing import Any

import pytest

from bot.channels.whatsapp.render import (
    BUTTON_TITLE_LIMIT,
    INTERACTIVE_BODY_LIMIT,
    TEXT_LIMIT,
    TurnRenderer,
    shorten,
    split_text,
)
from bot.channels.whatsapp.texts import load_texts
from bot.replies.reply import Button, Reply
from tests.channels.whatsapp_fakes import (
    CITATIONS,
    NOTE,
    as_rasa,
    efficacy_answer,
    escalation,
    menu,
)


@pytest.fixture(scope="module")
def renderer() -> TurnRenderer:
    return TurnRenderer(load_texts())


def turn(*replies: Reply) -> list[dict[str, Any]]:
    """One Rasa message per reply, as WhatsAppOutput collects them."""
    return [as_rasa(reply.rasa_message()) for reply in replies]


def body_of(message: dict[str, Any]) -> str:
    if message["type"] == "text":
        return message["text"]["body"]
    return message["interactive"]["body"]["text"]


def long_answer(paragraphs: int, buttons: tuple[Button, ...] = ()) -> Reply:
    paragraph = (
        "Each session places small amounts of product under the skin with fine needles. "
        "Most people notice some redness that settles within a day or two. "
    ) * 4
    return Reply(
        kind="answer",
        body="\n\n".join(f"{n}. {paragraph}" for n in range(paragraphs)),
        topic="hair_growth",
        efficacy=True,
        evidence_note=NOTE,
        citations=CITATIONS,
        buttons=buttons,
    )


def test_split_prefers_paragraph_boundaries_and_loses_nothing() -> None:
    paragraphs = [f"Paragraph {n}. " + "word " * 150 for n in range(40)]
    text = "\n\n".join(p.strip() for p in paragraphs)
    chunks = split_text(text, TEXT_LIMIT)
    assert len(chunks) > 1
    assert all(len(c) <= TEXT_LIMIT for c in chunks)
    assert all(c.startswith("Paragraph ") for c in chunks)
    assert " ".join(" ".join(chunks).split()) == " ".join(text.split())


def test_split_falls_back_to_sentences_then_words_then_characters() -> None:
    sentences = " ".join(f"Sentence number {n} is here." for n in range(400))
    chunks = split_text(sentences, 500)
    assert all(len(c) <= 500 and c.endswith(".") for c in chunks)
    words = " ".join(["mesotherapy"] * 200)
    assert all(len(c) <= 100 and not c.endswith("mesothe") for c in split_text(words, 100))
    assert [len(c) for c in split_text("x" * 250, 100)] == [100, 100, 50]
    assert split_text("   ", 100) == []


def test_a_reply_renders_once_from_its_envelope(renderer: TurnRenderer) -> None:
    [message] = renderer.render(turn(efficacy_answer()))
    text = body_of(message)
    # WhatsApp's *bold* comes from the envelope's body; the message's text has **bold**
    assert text.startswith("Scalp mesotherapy is offered for *thinning hair*.")
    assert text.count("Evidence note:") == 1 and text.count("Sources:") == 1


def test_a_message_without_an_envelope_renders_its_text(renderer: TurnRenderer) -> None:
    message = {**efficacy_answer().rasa_message(), "custom": {"something_else": 1}}
    [rendered] = renderer.render([as_rasa(message)])
    text = body_of(rendered)
    assert text.startswith("Scalp mesotherapy is offered for *thinning hair*.")
    assert text.count("Evidence note:") == 1 and text.count("Sources:") == 1


def test_an_unrelated_text_before_an_envelope_is_kept(renderer: TurnRenderer) -> None:
    messages = [as_rasa({"text": "Hello there!"}), *turn(efficacy_answer())]
    rendered = renderer.render(messages)
    assert [body_of(m)[:12] for m in rendered] == ["Hello there!", "Scalp mesoth"]


def test_long_answer_is_split_and_the_note_is_never_dropped(renderer: TurnRenderer) -> None:
    rendered = renderer.render(turn(long_answer(40)))
    assert len(rendered) > 1
    assert all(m["type"] == "text" and len(body_of(m)) <= TEXT_LIMIT for m in rendered)
    joined = "\n".join(body_of(m) for m in rendered)
    assert joined.count(f"Evidence note: {NOTE.text}") == 1  # whole, in one piece
    assert "Sources: A review of injected treatments" in joined


def test_escalation_goes_first_and_whole_even_when_long(renderer: TurnRenderer) -> None:
    urgent = escalation("Please call the clinic now. " * 200)  # about 5,600 characters
    rendered = renderer.render(turn(efficacy_answer(), urgent))
    assert body_of(rendered[0]).startswith("Please call the clinic now.")
    assert len(body_of(rendered[0])) > TEXT_LIMIT  # never split
    assert "Evidence note:" in body_of(rendered[1])
    assert len(rendered) == 2


def test_short_answer_with_buttons_is_one_interactive_message(renderer: TurnRenderer) -> None:
    reply = Reply(
        kind="answer",
        body="Sessions are usually two to four weeks apart.",
        topic="sessions",
        efficacy=True,
        evidence_note=NOTE,
        citations=CITATIONS,
        buttons=(Button("Cost", "/ask_cost"), Button("Downtime", "/ask_downtime")),
    )
    [message] = renderer.render(turn(reply))
    assert message["interactive"]["type"] == "button"
    assert "Evidence note:" in body_of(message) and "Sources:" in body_of(message)


def test_answer_too_long_for_an_interactive_body_goes_first_as_text(
    renderer: TurnRenderer,
) -> None:
    buttons = (Button("Cost", "/ask_cost"), Button("Results", "/ask_results"))
    rendered = renderer.render(turn(long_answer(3, buttons)))
    *texts, prompt = rendered
    assert texts and all(m["type"] == "text" for m in texts)
    assert "Evidence note:" in "".join(body_of(m) for m in texts)
    assert prompt["type"] == "interactive"
    assert body_of(prompt) == renderer.texts.choose_prompt
    assert len(body_of(prompt)) <= INTERACTIVE_BODY_LIMIT


def test_more_than_ten_options_keep_the_first_ten(renderer: TurnRenderer) -> None:
    [message] = renderer.render(turn(menu(14)))
    rows = message["interactive"]["action"]["sections"][0]["rows"]
    assert len(rows) == 10
    assert rows[0]["id"] == "/ask_cost"
    long_rows = [r for r in rows if "description" in r]
    assert long_rows and all(len(r["title"]) <= 24 for r in rows)
    assert all(len(r["description"]) <= 72 for r in long_rows)


def test_titles_are_shortened_at_words_and_kept_unique(renderer: TurnRenderer) -> None:
    assert shorten("Tell me about side effects", BUTTON_TITLE_LIMIT) == "Tell me about side…"
    assert shorten("Supercalifragilisticexpialidocious", 20) == "Supercalifragilisti…"
    buttons = [
        {"title": "Tell me about the cost of one", "payload": "/a"},
        {"title": "Tell me about the cost of two", "payload": "/b"},
    ]
    message = renderer.interactive("Pick one", buttons)
    titles = [b["reply"]["title"] for b in message["interactive"]["action"]["buttons"]]
    assert len(set(titles)) == 2 and all(len(t) <= BUTTON_TITLE_LIMIT for t in titles)


def test_payload_longer_than_an_id_falls_back_to_the_title(renderer: TurnRenderer) -> None:
    message = renderer.interactive("Pick", [{"title": "Cost", "payload": "/ask_cost" + "x" * 300}])
    assert message["interactive"]["action"]["buttons"][0]["reply"]["id"] == "Cost"


def test_plain_rasa_messages_and_images_render(renderer: TurnRenderer) -> None:
    messages = [
        as_rasa({"text": "Hi! I answer questions about mesotherapy."}),
        as_rasa({"text": "Pick a topic", "buttons": [{"title": "Cost", "payload": "/ask_cost"}]}),
        as_rasa({"image": "https://example.org/a.png"}),
        as_rasa({"custom": {"something_else": 1}}),
    ]
    rendered = renderer.render(messages)
    assert [m["type"] for m in rendered] == ["text", "interactive", "image"]
    assert rendered[2]["image"] == {"link": "https://example.org/a.png"}


def test_an_answer_renders_in_its_language_with_that_languages_labels_and_texts() -> None:
    from bot.channels.whatsapp.texts import load_all_texts
    from bot.clinic import clinic_config
    from bot.knowledge import read_snapshot
    from bot.knowledge.answers import compose_topic_answer
    from bot.replies.texts import reply_texts

    renderer = TurnRenderer(load_all_texts())
    reply = compose_topic_answer(read_snapshot(), "hair_growth", clinic_config(), "ar")
    frame = reply_texts("ar").frame
    body = "\n".join(
        m["text"]["body"] if m["type"] == "text" else m["interactive"]["body"]["text"]
        for m in renderer.render([reply.rasa_message()])
    )
    assert f"{frame['evidence_note']} {reply.disclaimer}" in body
    assert frame["sources"] in body and "Evidence note:" not in body
    many = Reply(
        kind="clarify",
        body="اختر",
        lang="ar",
        buttons=tuple(Button(f"خيار {i}", f"/ask_{i}") for i in range(5)),
    )
    [listed] = renderer.render([many.rasa_message()])
    assert listed["interactive"]["action"]["button"] == load_all_texts()["ar"].list_button

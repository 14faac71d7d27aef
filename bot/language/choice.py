"""Which language to answer in: the patient's choice, else the language of their message.

A choice is made in words ("in Hindi please", "हिंदी में बताइए", "بالعربي لو سمحت"; word lists in
data/languages.yml `choosing`) or with the widget's or kiosk's language switch. Hinglish and
Arabizi writers are answered in English unless they choose otherwise; a message too short to
tell (a greeting, "ok") keeps the language of the conversation so far, or the page's default.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.datafiles import ENGLISH
from bot.language.identify import LanguageGuess, LanguageSettings, language_settings
from bot.language.normalise import normalise_text, split_words

SHORT_MESSAGE_WORDS = 3
# Where the decision travels: the key of the parsed message (the NLU component's output, read by
# triage and the actions) and the two slots that keep it for the conversation.
PARSE_KEY = "language"
REPLY_SLOT = "reply_lang"  # the reply language so far; picks the variation of Rasa's responses
CHOSEN_SLOT = "chosen_lang"  # a language the patient picked, in words or with the switch


@dataclass(frozen=True)
class LanguageRequest:
    """A message that picks a language. `lang`: the reply language asked for, or None when the
    language asked for is one the assistant does not have (`unavailable` is then its name).
    `only_request`: the message asks nothing else ("hindi please")."""

    lang: str | None
    unavailable: str | None
    only_request: bool


def _words(text: str) -> list[str]:
    return split_words(normalise_text(text).lower())


_WordLists = tuple[dict[str, str], frozenset[str], frozenset[str], int]
_word_lists_of: dict[int, tuple[LanguageSettings, _WordLists | None]] = {}


def _word_lists(settings: LanguageSettings) -> _WordLists | None:
    """The `choosing` word lists normalised as messages are, built once per settings object:
    (name -> language, unavailable names, cue words, max other words)."""
    known = _word_lists_of.get(id(settings))
    if known is not None and known[0] is settings:
        return known[1]
    choosing = settings.choosing
    lists: _WordLists | None = None
    if choosing:
        lists = (
            {_words(n)[0]: lang for lang, names in choosing["names"].items() for n in names},
            frozenset(_words(name)[0] for name in choosing["unavailable"]),
            frozenset(w for cue in choosing["cue_words"] for w in _words(cue)),
            choosing["max_other_words"],
        )
    _word_lists_of[id(settings)] = (settings, lists)
    return lists


def language_request(
    text: str | None, settings: LanguageSettings | None = None
) -> LanguageRequest | None:
    """The language this message asks for, or None when it asks for none."""
    lists = _word_lists(settings or language_settings())
    if not text or lists is None:
        return None
    names, unavailable, cues, max_other_words = lists
    words = _words(text)
    for index, word in enumerate(words):
        if word not in names and word not in unavailable:
            continue
        others = [w for w in words if w not in names and w not in unavailable and w not in cues]
        beside = {words[i] for i in (index - 1, index + 1) if 0 <= i < len(words)}
        with_cue = bool(beside & cues)
        # Without a cue beside it, a language the assistant lacks is more often a nationality
        # ("is meso French?", "الميزو اصله فرنسي؟") than a request, unless it stands alone.
        few = max_other_words if word in names or with_cue else 0
        only = len(others) <= few
        if not only and not with_cue:
            continue
        if word in names:
            return LanguageRequest(names[word], None, only)
        return LanguageRequest(None, word, only)
    return None


def reply_language(
    guess: LanguageGuess,
    word_count: int,
    request: LanguageRequest | None = None,
    chosen: str | None = None,
    previous: str | None = None,
    page_default: str | None = None,
    settings: LanguageSettings | None = None,
) -> str:
    """The reply language for one message, a code of `settings.replies`.

    Order: a language asked for in this message; the patient's earlier choice (`chosen`, by
    words or the language switch); the message's own language when it is a reply language;
    for a message too short to tell, the conversation's language so far (`previous`) or the
    page's default; English otherwise (Hinglish and Arabizi included).
    """
    settings = settings or language_settings()
    replies = settings.replies
    for candidate in (request.lang if request else None, chosen):
        if candidate in replies:
            return candidate
    short = word_count <= SHORT_MESSAGE_WORDS and guess.code in (ENGLISH, "unknown")
    if not short and guess.code in replies:
        return guess.code
    if short:
        for candidate in (previous, page_default):
            if candidate in replies:
                return candidate
    return guess.reply if guess.reply in replies else replies[0]

"""bot.rasa.parse: parsing in batches gives every text the parse data Agent.parse_message gives
it, on the trained model (models/current.tar.gz) and the spent blind set M."""

from __future__ import annotations

import pytest
import yaml

from bot.paths import MODELS_DIR, PROJECT_ROOT
from bot.rasa.components.language import LANGUAGE_KEY
from bot.rasa.components.triage import TRIAGE_KEY
from bot.rasa.parse import parse_texts

BLIND_M = PROJECT_ROOT / "tests" / "nlu_eval" / "blind_m"
PER_LANGUAGE = 8
ODD_TEXTS = ["", "   ", "?", "😀🙏💉", "/greet", "my lips are swelling " * 150]


def sample_texts() -> list[str]:
    """A few questions of each language of blind set M (spread over its topics), then odd texts."""
    texts: list[str] = []
    for lang in ("en", "hinglish", "hi", "ar"):
        items = yaml.safe_load((BLIND_M / f"{lang}.yml").read_text(encoding="utf-8"))["questions"]
        step = max(1, len(items) // PER_LANGUAGE)
        texts += [str(item["text"]) for item in items[::step][:PER_LANGUAGE]]
    return texts + ODD_TEXTS


@pytest.fixture(scope="module")
def agent():  # type: ignore[no-untyped-def]
    from rasa.core.agent import Agent

    model = MODELS_DIR / "current.tar.gz"
    if not model.is_file():
        pytest.skip("no trained model (make train)")
    return Agent.load(str(model))


async def test_batches_parse_like_one_message_at_a_time(agent) -> None:  # type: ignore[no-untyped-def]
    texts = sample_texts()
    one_by_one = [await agent.parse_message(text) for text in texts]
    batched = await parse_texts(agent, texts, batch_size=16)  # batches of mixed languages

    assert len(batched) == len(texts)
    for text, single, batch in zip(texts, one_by_one, batched, strict=True):
        assert batch["text"] == single["text"] == text.strip()
        assert batch["intent"]["name"] == single["intent"]["name"], text
        assert batch["intent"]["confidence"] == pytest.approx(
            single["intent"]["confidence"], abs=1e-6
        )
        assert [i["name"] for i in batch.get("intent_ranking", [])] == [
            i["name"] for i in single.get("intent_ranking", [])
        ], text
        assert batch.get(LANGUAGE_KEY) == single.get(LANGUAGE_KEY), text  # none for /greet
        assert batch.get(TRIAGE_KEY) == single.get(TRIAGE_KEY), text
        assert batch == single, text  # and nothing else differs either
    # The sample reaches the components' different paths.
    intents = {parsed["intent"]["name"] for parsed in batched}
    assert {"nlu_fallback", "unusable_message", "report_emergency", "greet"} & intents
    assert len({parsed[LANGUAGE_KEY]["code"] for parsed in batched if LANGUAGE_KEY in parsed}) >= 3


async def test_an_empty_list_parses_to_nothing(agent) -> None:  # type: ignore[no-untyped-def]
    assert await parse_texts(agent, []) == []

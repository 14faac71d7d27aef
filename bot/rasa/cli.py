"""`python -m bot.rasa.cli run …`: Rasa's own CLI, with bot.rasa.patches, bot.rasa.handoff
(paused conversations) and bot.rasa.observe applied first; `run` (the server, not `run actions`)
of a model without TensorFlow components serves without importing TensorFlow
(bot/rasa/without_tensorflow.py, installed before anything imports Rasa's processor), and
imports what is slow to import late first (bot/rasa/preload.py), with no full garbage
collections until the model is loaded (bot/rasa/startup_gc.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rasa.shared.constants import DEFAULT_MODELS_PATH


def served_model(argv: list[str]) -> Path | None:
    """The model argument of `rasa run` (Rasa's default when none is given); None for any
    other command, `run actions`, or a model from remote storage."""
    if argv[:1] != ["run"] or argv[1:2] == ["actions"]:
        return None
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-m", "--model", default=DEFAULT_MODELS_PATH)
    parser.add_argument("--remote-storage")
    known, _ = parser.parse_known_args(argv[1:])
    return None if known.remote_storage else Path(known.model)


if __name__ == "__main__":
    import sys

    from bot.rasa import preload, startup_gc, without_tensorflow

    model = served_model(sys.argv[1:])
    if model is not None:
        startup_gc.defer()
        without_tensorflow.install_for_model(model)
        preload.preload_for_model(model)

    from bot.rasa import handoff, observe, patches

    patches.apply()
    handoff.apply()
    observe.apply()
    if model is not None:
        startup_gc.resume_after_model_load()
    from rasa.__main__ import main

    main()

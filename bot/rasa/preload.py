"""Imports that a served model's components make slow when done late, done first instead
(bot/rasa/cli.py, right after bot/rasa/without_tensorflow.py, before Rasa's own imports).

`import skops.io` (LogisticRegressionClassifier.load) builds its lists of trusted types by
looking up each of ~750 numpy and scipy ufuncs in every module of `sys.modules`
(`skops.io._utils.whichmodule`): ~5 s of Rasa's start when it ran inside the model load with
Rasa's ~3,600 modules loaded, ~2.5 s before them (~1,500). The lists it builds are the same
either way (tests/rasa/test_preload.py), and it is imported once per process anyway.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

from bot.rasa.without_tensorflow import model_components

# component class path -> modules to import before Rasa's
EARLY_IMPORTS: dict[str, tuple[str, ...]] = {
    "rasa.nlu.classifiers.logistic_regression_classifier.LogisticRegressionClassifier": (
        "skops.io",
    ),
}


def early_imports(components: set[str]) -> list[str]:
    """The modules to import first for a model with these components."""
    return sorted(
        {module for component in components for module in EARLY_IMPORTS.get(component, ())}
    )


def preload_for_model(model_path: Path) -> list[str]:
    """Import `early_imports` of the model `rasa run` will load; the modules imported. A model
    that cannot be read here is left to Rasa, which reports it."""
    from rasa.model import get_local_model  # rasa.model imports nothing heavy

    try:
        components = model_components(Path(get_local_model(str(model_path))))
    except Exception:  # noqa: BLE001 - Rasa will report the model's problem itself
        return []
    modules = early_imports(components)
    start = time.perf_counter()
    for module in modules:
        importlib.import_module(module)
    if modules:
        took = time.perf_counter() - start
        print(f"{__name__}: imported {', '.join(modules)} first ({took:.1f} s)", file=sys.stderr)
    return modules

"""Imports that a served model's components make slow when done late, done first instead
(bot/rasa/cli.py, right after bot/rasa/without_tensorflow.py, before Rasa's own imports).

`import skops.io` (LogisticRegressionClassifier.load) builds its lists of trusted types by
looking up each of ~750 numpy and scipy ufuncs in every module of `sys.modules`
(`skops.io._utils.whichmodule`): ~5 s of Rasa's start when it ran inside the model load with
Rasa's ~3,600 modules loaded, ~2.5 s before them (~1,500). The lists it builds are the same
either way (tests/rasa/test_preload.py), and it is imported once per process anyway.

Most of that walk is raising and formatting an AttributeError (with the module's repr) for
each module that lacks the name; `install_fast_whichmodule()` gives skops.io._utils, as it is
imported, a `whichmodule` that asks `getattr(module, name, default)` instead: the same first
match in the same order (only an AttributeError counts as "not here" either way).

The rest of that import was sklearn's `all_estimators()` (~1.5 s and ~23 MB: it imports every
sklearn module, and pytest), called only for the names of sklearn's estimator classes. Those
are recorded per sklearn version in bot/rasa/sklearn_estimators.json (`python -m
bot.rasa.preload` rewrites it; tests/rasa/test_preload.py fails while it differs from the
installed sklearn's), and skops.io is imported with an `all_estimators` that returns them; for
any other sklearn version the real one runs.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from bot.rasa.without_tensorflow import model_components

# component class path -> modules to import before Rasa's
EARLY_IMPORTS: dict[str, tuple[str, ...]] = {
    "rasa.nlu.classifiers.logistic_regression_classifier.LogisticRegressionClassifier": (
        "skops.io",
    ),
}


SKOPS_UTILS = "skops.io._utils"
_MISSING = object()


def _attribute(module: ModuleType, name: str) -> Any:
    """pickle's `_getattribute(module, name)[0]`, `_MISSING` where that raises AttributeError."""
    found: Any = module
    for part in name.split("."):
        if part == "<locals>":
            return _MISSING
        found = getattr(found, part, _MISSING)
        if found is _MISSING:
            return _MISSING
    return found


def fast_whichmodule(obj: Any, name: str) -> str:
    """skops.io._utils.whichmodule (a copy of pickle's) without an exception per module."""
    module_name = getattr(obj, "__module__", None)
    if module_name is not None:
        return module_name
    for module_name, module in sys.modules.copy().items():
        if module_name in ("__main__", "__mp_main__") or module is None:
            continue
        if _attribute(module, name) is obj:
            return module_name
    return "__main__"


class _PatchingLoader(importlib.abc.Loader):
    """skops.io._utils's own loader, then its `whichmodule` replaced."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def __getattr__(self, name: str) -> Any:  # get_source and the like, for tracebacks
        return getattr(self.loader, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        module.whichmodule = fast_whichmodule


class _FastWhichmoduleFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Any, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != SKOPS_UTILS:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _PatchingLoader(spec.loader)
        return spec


_FINDER = _FastWhichmoduleFinder()


def install_fast_whichmodule() -> None:
    """Before skops.io is imported: its `whichmodule` becomes `fast_whichmodule`."""
    if SKOPS_UTILS in sys.modules:
        raise RuntimeError(f"{SKOPS_UTILS} is already imported")
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def uninstall_fast_whichmodule() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


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
    if "skops.io" in modules and SKOPS_UTILS not in sys.modules:
        install_fast_whichmodule()
    start = time.perf_counter()
    with recorded_all_estimators():
        for module in modules:
            importlib.import_module(module)
    if modules:
        took = time.perf_counter() - start
        print(f"{__name__}: imported {', '.join(modules)} first ({took:.1f} s)", file=sys.stderr)
    return modules


ESTIMATORS_FILE = Path(__file__).with_name("sklearn_estimators.json")


def installed_estimators() -> list[list[str]]:
    """sklearn's `all_estimators()` as [name, class module, class name] rows (slow)."""
    from sklearn.utils import all_estimators

    return [[name, cls.__module__, cls.__name__] for name, cls in all_estimators()]


def recorded_estimators() -> list[tuple[str, type]] | None:
    """`all_estimators()` of the installed sklearn version as recorded, each class a stand-in
    with the real class's `__module__` and `__name__` (all skops reads of it); None when the
    record is of another version or missing."""
    import sklearn

    try:
        record = json.loads(ESTIMATORS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("sklearn") != sklearn.__version__:
        return None
    return [
        (name, type(class_name, (), {"__module__": module}))
        for name, module, class_name in record["estimators"]
    ]


@contextmanager
def recorded_all_estimators() -> Iterator[None]:
    """Within: `sklearn.utils.all_estimators()` (no filter) returns `recorded_estimators()`."""
    recorded = recorded_estimators()
    if recorded is None:
        yield
        return
    import sklearn.utils

    real = sklearn.utils.all_estimators

    def all_estimators(type_filter: Any = None) -> list[tuple[str, type]]:
        return list(recorded) if type_filter is None else real(type_filter)

    sklearn.utils.all_estimators = all_estimators
    try:
        yield
    finally:
        sklearn.utils.all_estimators = real


def record_estimators() -> None:
    """Write ESTIMATORS_FILE for the installed sklearn."""
    import sklearn

    rows = ",\n".join(f"  {json.dumps(row)}" for row in installed_estimators())
    text = f'{{\n "sklearn": {json.dumps(sklearn.__version__)},\n "estimators": [\n{rows}\n ]\n}}\n'
    ESTIMATORS_FILE.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    record_estimators()
    print(f"wrote {ESTIMATORS_FILE}")

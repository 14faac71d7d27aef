"""A Rasa server that does not import TensorFlow when its model has no TensorFlow component.

Rasa 3.6 imports TensorFlow (~430 MB resident, 6-18 s of start on our machine) in every
`rasa run`, even for a model like ours (logistic regression, RulePolicy, MemoizationPolicy) that
never calls it. Measured with an import hook on `python -m bot.rasa.cli run`, these are all the
chains that reach `import tensorflow` while the server starts, loads our model and answers:

1. rasa.core.processor -> rasa.core.actions.action -> rasa.core.policies.policy ->
   rasa.core.featurizers.tracker_featurizers -> ...single_state_featurizer ->
   rasa.nlu.extractors.extractor -> rasa.utils.train_utils -> rasa.utils.tensorflow.callback
   (classes subclassing `tf.keras.callbacks.Callback`) and rasa.utils.tensorflow.data_generator
   (a subclass of `tf.keras.utils.Sequence`). train_utils only uses them in training functions.
2. Loading the model deserialises its train schema too, whose first node is
   rasa.graph_components.validators.default_recipe_validator.DefaultV1RecipeValidator: that
   module imports DIETClassifier, ResponseSelector and TEDPolicy (for training-time checks),
   and they import TensorFlow. The validator only runs in `rasa train`.
3. spaCy (our symptom triage) imports thinc, whose thinc.compat tries `import tensorflow` to
   offer TensorFlow wrappers (and carries on without it when the import fails).

`install_for_model(path)` (called by bot/rasa/cli.py before anything imports Rasa) cuts all
three, and only when the model's predict graph uses no TensorFlow component (`needs_tensorflow`):

- The three Rasa modules above are replaced, through an import hook, by stand-ins that define
  the same public names as placeholders (`DeferredClass`). A placeholder is what the serving
  path needs (a name to import, type hints, a train-schema node that is never run); on its first
  real use (called, an attribute read, an isinstance check) it imports the real module, and so
  TensorFlow, logs a warning naming the class and the caller, and behaves as the real class.
  Nothing fails: at worst TensorFlow is loaded late, as before this change (say, after the HTTP
  API replaced the model by one with DIETClassifier). Rasa has no subclasses of these classes
  outside their own modules (tests/rasa/test_without_tensorflow.py checks that for the
  installed Rasa), which a placeholder would not support.
- thinc.compat is imported with `tensorflow` unimportable, so thinc records that it has no
  TensorFlow (as where it is not installed); nothing here uses thinc's TensorFlow wrappers.

`tensorflow` itself is never blocked or replaced: any component that imports it gets the real
one. `rasa train` and the other commands are untouched (only `run` installs this).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import logging
import os
import sys
import tarfile
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

logger = logging.getLogger(__name__)

# Rasa modules that import TensorFlow at import time although the serving path of a
# TensorFlow-free model only needs their names, and those names.
DEFERRED_MODULES: dict[str, tuple[str, ...]] = {
    "rasa.utils.tensorflow.callback": ("RasaTrainingLogger", "RasaModelCheckpoint"),
    "rasa.utils.tensorflow.data_generator": ("RasaDataGenerator", "RasaBatchDataGenerator"),
    "rasa.graph_components.validators.default_recipe_validator": ("DefaultV1RecipeValidator",),
}

# Modules of Rasa 3.6's own graph components that import TensorFlow (DIETClassifier,
# ResponseSelector, TEDPolicy, UnexpecTEDIntentPolicy, ConveRTFeaturizer,
# LanguageModelFeaturizer). A model using a component from one of them needs TensorFlow.
TENSORFLOW_COMPONENT_MODULES = frozenset(
    {
        "rasa.nlu.classifiers.diet_classifier",
        "rasa.nlu.selectors.response_selector",
        "rasa.core.policies.ted_policy",
        "rasa.core.policies.unexpected_intent_policy",
        "rasa.nlu.featurizers.dense_featurizer.convert_featurizer",
        "rasa.nlu.featurizers.dense_featurizer.lm_featurizer",
    }
)
# Components whose modules we know: Rasa's own and this project's. A component from elsewhere
# might need TensorFlow in ways we cannot see, so its model is served the ordinary way.
KNOWN_PACKAGES = ("rasa.", "bot.")
MODEL_METADATA = "metadata.json"


def model_components(model_archive: Path) -> set[str]:
    """The class paths (`module.Class`) of the nodes of a trained model's predict graph, read
    from the archive's metadata.json without importing anything of Rasa."""
    with tarfile.open(model_archive, "r:gz") as archive:
        for member in archive:
            if os.path.normpath(member.name).lstrip("/") == MODEL_METADATA:
                handle = archive.extractfile(member)
                if handle is not None:
                    metadata = json.load(handle)
                    nodes = metadata["predict_schema"]["nodes"].values()
                    return {node["uses"] for node in nodes}
    raise ValueError(f"{model_archive}: no {MODEL_METADATA}, not a Rasa 3 model")


def needs_tensorflow(components: set[str]) -> bool:
    """True unless every component is known and none is one of Rasa's TensorFlow components."""
    for component in components:
        module = component.rpartition(".")[0]
        if module in TENSORFLOW_COMPONENT_MODULES or not component.startswith(KNOWN_PACKAGES):
            return True
    return False


class DeferredClass(type):
    """Metaclass of a placeholder for a class of a deferred module: the first real use imports
    the real module (and TensorFlow) and hands over to the real class."""

    _real: type | None

    def real(cls) -> type:
        if cls._real is None:
            logger.warning(
                "TensorFlow imported after all: %s.%s used (%s)",
                cls.__module__,
                cls.__qualname__,
                _caller(),
            )
            cls._real = getattr(_import_real(cls.__module__), cls.__qualname__)
        return cls._real

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls.real()(*args, **kwargs)

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__") or name == "_real":
            raise AttributeError(name)
        return getattr(cls.real(), name)

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, cls.real())

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, cls.real())


def _caller() -> str:
    """`file:line` of the innermost frame outside this module and importlib (for the warning)."""
    for frame in reversed(traceback.extract_stack()):
        if frame.filename != __file__ and "importlib" not in frame.filename:
            return f"{frame.filename}:{frame.lineno}"
    return "unknown caller"


def _import_real(name: str) -> ModuleType:
    """Import the real module `name` in place of its stand-in (sys.modules and the parent
    package's attribute), and return it."""
    standin = sys.modules.get(name)
    if standin is not None and not getattr(standin, "__meso_standin__", False):
        return standin  # already real
    parent, _, child = name.rpartition(".")
    spec = importlib.machinery.PathFinder.find_spec(name, sys.modules[parent].__path__)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot find the real module {name}", name=name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        if standin is not None:
            sys.modules[name] = standin
        raise
    setattr(sys.modules[parent], child, module)
    return module


class _StandInLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        name = module.__name__
        module.__meso_standin__ = True  # type: ignore[attr-defined]
        module.__doc__ = f"Stand-in for {name} (bot/rasa/without_tensorflow.py)."
        for class_name in DEFERRED_MODULES[name]:
            placeholder = DeferredClass(class_name, (), {"__module__": name, "_real": None})
            setattr(module, class_name, placeholder)
        # No module __getattr__ reaching for the real module: code that walks sys.modules
        # reading attributes (pickle's whichmodule, as skops does at import) would import it.


class _StandInFinder(importlib.abc.MetaPathFinder):
    """Finds the stand-ins of DEFERRED_MODULES, while they are not imported for real."""

    def find_spec(
        self, fullname: str, path: Any = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname in DEFERRED_MODULES:
            return importlib.machinery.ModuleSpec(fullname, _StandInLoader())
        return None


_FINDER = _StandInFinder()


def _import_thinc_without_tensorflow() -> None:
    if "tensorflow" in sys.modules or "thinc.compat" in sys.modules:
        return  # too late, or TensorFlow is loaded anyway: thinc may as well know it
    sys.modules["tensorflow"] = None  # type: ignore[assignment]  # "import tensorflow" fails
    try:
        importlib.import_module("thinc.compat")
    finally:
        del sys.modules["tensorflow"]


def install() -> None:
    """Serve without TensorFlow from here on (idempotent). Call before Rasa is imported."""
    already = [name for name in DEFERRED_MODULES if name in sys.modules]
    if already:
        raise RuntimeError(f"too late to serve without TensorFlow: {already} already imported")
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    _import_thinc_without_tensorflow()


def uninstall() -> None:
    """Stop finding stand-ins (modules already imported stay as they are)."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


def install_for_model(model_path: Path) -> bool:
    """`install()` when the model `rasa run` will load (an archive, or the newest in a
    directory, as Rasa picks it) needs no TensorFlow; True when installed. A model that cannot
    be read here is left to Rasa (which reports it), served the ordinary way. The decision is
    written to stderr: Rasa configures logging only later."""
    from rasa.model import get_local_model  # rasa.model imports nothing heavy

    try:
        archive = Path(get_local_model(str(model_path)))
        tensorflow = needs_tensorflow(model_components(archive))
    except Exception as error:  # noqa: BLE001 - Rasa will report the model's problem itself
        _say(f"TensorFlow kept: model {model_path} not readable here ({error})")
        return False
    if tensorflow:
        _say(f"TensorFlow kept: model {archive.name} has a TensorFlow component")
        return False
    install()
    _say(f"serving without TensorFlow: model {archive.name} has no TensorFlow component")
    return True


def _say(text: str) -> None:
    print(f"{__name__}: {text}", file=sys.stderr, flush=True)

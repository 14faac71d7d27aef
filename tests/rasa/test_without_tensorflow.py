"""bot/rasa/without_tensorflow.py: which models are served without TensorFlow, that its lists
still match the installed Rasa's modules, and (in a fresh interpreter) that loading our model
imports no TensorFlow while a placeholder, once really used, brings the real class and
TensorFlow. The running servers are checked in tests/e2e/test_without_tensorflow.py."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import tarfile
from functools import cache
from pathlib import Path

import pytest
import rasa

from bot.paths import PROJECT_ROOT
from bot.rasa.cli import served_model
from bot.rasa.without_tensorflow import (
    DEFERRED_MODULES,
    MODEL_METADATA,
    TENSORFLOW_COMPONENT_MODULES,
    install_for_model,
    model_components,
    needs_tensorflow,
)
from tests.stack import ensure_model

RASA_ROOT = Path(rasa.__file__).parent
TENSORFLOW_PACKAGES = {"tensorflow", "tensorflow_hub", "tensorflow_text", "keras"}
DIET = "rasa.nlu.classifiers.diet_classifier.DIETClassifier"


def test_the_project_model_needs_no_tensorflow() -> None:
    components = model_components(ensure_model())
    assert "rasa.nlu.classifiers.logistic_regression_classifier.LogisticRegressionClassifier" in (
        components
    )
    assert "bot.rasa.components.triage.SymptomTriage" in components
    assert not needs_tensorflow(components)


@pytest.mark.parametrize(
    ("component", "needs"),
    [
        (DIET, True),
        ("rasa.core.policies.ted_policy.TEDPolicy", True),
        ("rasa.nlu.selectors.response_selector.ResponseSelector", True),
        ("rasa.nlu.featurizers.dense_featurizer.lm_featurizer.LanguageModelFeaturizer", True),
        ("rasa_plus.some.ThirdPartyComponent", True),  # unknown: served the ordinary way
        ("rasa.core.policies.rule_policy.RulePolicy", False),
        ("bot.rasa.components.embeddings.SentenceEmbeddingFeaturizer", False),
    ],
)
def test_which_components_need_tensorflow(component: str, needs: bool) -> None:
    light = {"rasa.nlu.tokenizers.whitespace_tokenizer.WhitespaceTokenizer"}
    assert needs_tensorflow(light | {component}) is needs


def test_a_model_with_diet_is_not_installed_for(tmp_path: Path) -> None:
    """The project's model archive with a DIETClassifier node added to its predict graph."""
    archive = tmp_path / "diet.tar.gz"
    with tarfile.open(ensure_model(), "r:gz") as original:
        original.extractall(tmp_path / "model")
    metadata_path = tmp_path / "model" / MODEL_METADATA
    metadata = json.loads(metadata_path.read_text())
    node = dict(next(iter(metadata["predict_schema"]["nodes"].values())), uses=DIET)
    metadata["predict_schema"]["nodes"]["run_DIETClassifier9"] = node
    metadata_path.write_text(json.dumps(metadata))
    with tarfile.open(archive, "w:gz") as repacked:
        repacked.add(tmp_path / "model", arcname=".")
    shutil.rmtree(tmp_path / "model")
    assert needs_tensorflow(model_components(archive))
    assert install_for_model(archive) is False  # decided before anything is installed
    assert install_for_model(tmp_path / "missing.tar.gz") is False


def test_only_the_server_is_served_without_tensorflow() -> None:
    assert served_model(["run", "--model", "m.tar.gz", "--port", "1"]) == Path("m.tar.gz")
    assert served_model(["run", "-m", "dir"]) == Path("dir")
    assert served_model(["run"]) == Path("models")  # Rasa's default
    assert served_model(["run", "actions"]) is None
    assert served_model(["run", "--remote-storage", "aws"]) is None
    assert served_model(["train"]) is None
    assert served_model(["test", "core", "--model", "m.tar.gz"]) is None


# The installed Rasa, read as source (nothing imported): the lists must follow an upgrade.


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(RASA_ROOT.parent).with_suffix("").parts).removesuffix(
        ".__init__"
    )


def _import_time_nodes(tree: ast.Module) -> list[ast.stmt]:
    """Statements run when the module is imported: not inside functions, nor TYPE_CHECKING."""
    found: list[ast.stmt] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending.extend(node.orelse)
            continue
        found.append(node)
        for field in ("body", "orelse", "finalbody", "handlers"):
            pending.extend(getattr(node, field, None) or [])
    return found


@cache
def _rasa_sources() -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text()) for p in RASA_ROOT.rglob("*.py")}


def _imports(module: str) -> set[str]:
    """The modules `module` imports at import time (`from a import b`: a, and a.b if a module)."""
    sources = _rasa_sources()
    found: set[str] = set()
    for node in _import_time_nodes(sources[module]):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names} & sources.keys()
    return found


def _imports_tensorflow(module: str, standins: frozenset[str], seen: set[str]) -> bool:
    """True when importing `module` imports TensorFlow (stand-ins count as free of it)."""
    if module in seen or module in standins:
        return False
    seen.add(module)
    for imported in _imports(module):
        if imported.split(".")[0] in TENSORFLOW_PACKAGES:
            return True
        if imported in _rasa_sources() and _imports_tensorflow(imported, standins, seen):
            return True
    return False


def test_tensorflow_component_modules_are_those_of_rasa_default_components() -> None:
    """Of the modules Rasa's default components come from, exactly those listed import
    TensorFlow (stand-ins in place)."""
    registry = _rasa_sources()["rasa.engine.recipes.default_components"]
    component_modules = {
        node.module
        for node in _import_time_nodes(registry)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    standins = frozenset(DEFERRED_MODULES)
    with_tensorflow = {m for m in component_modules if _imports_tensorflow(m, standins, set())}
    assert with_tensorflow == TENSORFLOW_COMPONENT_MODULES


def test_serving_modules_import_no_tensorflow_with_the_standins() -> None:
    """What `rasa run` of our model imports (the processor, agent, policies, our model's
    components) imports no TensorFlow once the stand-ins are in place, and does without them."""
    standins = frozenset(DEFERRED_MODULES)
    serving = [
        "rasa.core.processor",
        "rasa.core.agent",
        "rasa.core.run",
        "rasa.engine.loader",
        "rasa.core.policies.rule_policy",
        "rasa.nlu.classifiers.logistic_regression_classifier",
        "rasa.engine.recipes.default_recipe",
    ]
    for module in serving:
        assert not _imports_tensorflow(module, standins, set()), module
    assert _imports_tensorflow("rasa.core.processor", frozenset(), set())


def test_rasa_uses_only_the_placeholder_names_and_subclasses_none() -> None:
    for module, tree in _rasa_sources().items():
        if module in DEFERRED_MODULES:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in DEFERRED_MODULES:
                names = {alias.name for alias in node.names}
                assert names <= set(DEFERRED_MODULES[node.module]), (module, names)
            if isinstance(node, ast.Import):
                assert not {a.name for a in node.names} & DEFERRED_MODULES.keys(), module
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(base).rpartition(".")[2] for base in node.bases}
                placeholders = {name for names in DEFERRED_MODULES.values() for name in names}
                assert not bases & placeholders, (module, node.name)


FRESH_PROCESS = """
import sys
from pathlib import Path
from bot.rasa import without_tensorflow

assert without_tensorflow.install_for_model(Path(sys.argv[1]))
import rasa.core.processor, rasa.core.agent, rasa.core.run, skops.io  # noqa: E401
import bot.rasa.components.triage, bot.rasa.patches  # noqa: E401
from rasa.engine.storage.local_model_storage import LocalModelStorage
from thinc.compat import has_tensorflow

metadata = LocalModelStorage.metadata_from_archive(sys.argv[1])  # both graphs deserialised
assert "tensorflow" not in sys.modules and not has_tensorflow
validator = metadata.train_schema.nodes["schema_validator"].uses
from rasa.graph_components.validators.default_recipe_validator import (
    DefaultV1RecipeValidator,
)
from rasa.utils.tensorflow.callback import RasaTrainingLogger
assert validator is DefaultV1RecipeValidator and "tensorflow" not in sys.modules

create = DefaultV1RecipeValidator.create  # a real use
assert "tensorflow" in sys.modules
real = sys.modules["rasa.graph_components.validators.default_recipe_validator"]
assert not getattr(real, "__meso_standin__", False)
assert create == real.DefaultV1RecipeValidator.create
assert DefaultV1RecipeValidator.real() is real.DefaultV1RecipeValidator
import tensorflow as tf
assert issubclass(RasaTrainingLogger.real(), tf.keras.callbacks.Callback)
logger = RasaTrainingLogger(epochs=1, silent=True)
assert isinstance(logger, RasaTrainingLogger) and isinstance(logger, tf.keras.callbacks.Callback)
print("ok")
"""


def test_in_a_fresh_process_tensorflow_comes_only_with_a_real_use() -> None:
    done = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, str(ensure_model())],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")
    assert "serving without TensorFlow" in done.stderr
    assert "TensorFlow imported after all: " in done.stderr
    assert "default_recipe_validator.DefaultV1RecipeValidator used" in done.stderr

"""bot/rasa/preload.py: skops.io is imported before Rasa's modules when the served model has
Rasa's LogisticRegressionClassifier, and builds the same trusted-type lists as when Rasa's
model load imports it (which the classifier's load checks the model file against)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from bot.paths import PROJECT_ROOT
from bot.rasa import preload
from bot.rasa.preload import early_imports, fast_whichmodule
from bot.rasa.without_tensorflow import model_components
from tests.stack import ensure_model

LOGISTIC_REGRESSION = (
    "rasa.nlu.classifiers.logistic_regression_classifier.LogisticRegressionClassifier"
)


def test_fast_whichmodule_finds_what_skops_finds() -> None:
    import numpy
    import scipy.special
    from skops.io import _utils

    # skops's copy of pickle's, unless this process already replaced it
    original = pickle.whichmodule if _utils.whichmodule is fast_whichmodule else _utils.whichmodule
    ufuncs = [
        getattr(module, name)
        for module in (numpy, scipy.special)
        for name in dir(module)
        if isinstance(getattr(module, name), numpy.ufunc)
    ]
    assert len(ufuncs) > 100
    for ufunc in ufuncs:
        assert fast_whichmodule(ufunc, ufunc.__name__) == original(ufunc, ufunc.__name__)
    unknown = numpy.frompyfunc(lambda x: x, 1, 1)
    for obj, name in [
        (unknown, unknown.__name__),
        (numpy.add, "core.umath.add"),
        (numpy.add, "umath.add"),
        (numpy.add, "<locals>.add"),
        (numpy.add, "core.nothing_here"),
    ]:
        assert fast_whichmodule(obj, name) == original(obj, name), name
    assert fast_whichmodule(unknown, unknown.__name__) == "__main__"
    assert fast_whichmodule(numpy.add, "core.umath.add").startswith("numpy")  # found, dotted


def test_the_project_model_imports_skops_first() -> None:
    components = model_components(ensure_model())
    assert LOGISTIC_REGRESSION in components
    assert early_imports(components) == ["skops.io"]
    assert early_imports(components - {LOGISTIC_REGRESSION}) == []


TRUSTED_TYPES = """
import json, sys
from pathlib import Path
{before}
from skops.io import _trusted_types as t
from skops.io import get_untrusted_types
from rasa.core.agent import load_agent  # noqa: F401 (the served graph's modules)
import tarfile, tempfile
with tempfile.TemporaryDirectory() as tmp:
    with tarfile.open(sys.argv[1]) as archive:
        member = next(m for m in archive if m.name.endswith(".skops"))
        archive.extract(member, tmp)
    untrusted = get_untrusted_types(file=Path(tmp) / member.name)
lists = [t.SKLEARN_ESTIMATOR_TYPE_NAMES, t.SCIPY_UFUNC_TYPE_NAMES, t.NUMPY_UFUNC_TYPE_NAMES,
         t.NUMPY_DTYPE_TYPE_NAMES, t.PRIMITIVE_TYPE_NAMES]
from skops.io import _utils
fast = _utils.whichmodule.__module__ == "bot.rasa.preload"
print(json.dumps({{"lists": lists, "untrusted": untrusted, "fast": fast}}))
"""
EARLY = """
from bot.rasa import preload, without_tensorflow
without_tensorflow.install_for_model(Path(sys.argv[1]))
assert preload.preload_for_model(Path(sys.argv[1])) == ["skops.io"]
assert "sklearn.utils._testing" not in sys.modules  # all_estimators() did not run
"""
LATE = """
from bot.rasa import without_tensorflow
without_tensorflow.install_for_model(Path(sys.argv[1]))
import bot.rasa.handoff, bot.rasa.observe, bot.rasa.patches, bot.rasa.components.triage
import rasa.core.processor, rasa.__main__
assert "skops.io" not in sys.modules and len(sys.modules) > 3000
"""


def _trusted_types(before: str) -> dict[str, list]:
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", TRUSTED_TYPES.format(before=before)]
        + [str(ensure_model())],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_skops_imported_first_trusts_the_same_types() -> None:
    early, late = _trusted_types(EARLY), _trusted_types(LATE)
    assert early.pop("fast") is True and late.pop("fast") is False
    assert early == late
    assert early["untrusted"] == []
    assert len(early["lists"][1]) > 100 and len(early["lists"][2]) > 50  # scipy, numpy ufuncs


def test_the_recorded_estimators_are_the_installed_sklearns() -> None:
    import sklearn

    record = json.loads(preload.ESTIMATORS_FILE.read_text(encoding="utf-8"))
    assert record["sklearn"] == sklearn.__version__, "run `python -m bot.rasa.preload`"
    assert record["estimators"] == preload.installed_estimators(), (
        "run `python -m bot.rasa.preload`"
    )
    recorded = preload.recorded_estimators()
    assert recorded is not None
    assert [[name, cls.__module__, cls.__name__] for name, cls in recorded] == record["estimators"]


def test_another_sklearn_version_gets_the_real_all_estimators(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sklearn.utils

    real = sklearn.utils.all_estimators
    other = tmp_path / "sklearn_estimators.json"
    other.write_text(json.dumps({"sklearn": "0.0.1", "estimators": []}), encoding="utf-8")
    monkeypatch.setattr(preload, "ESTIMATORS_FILE", other)
    assert preload.recorded_estimators() is None
    with preload.recorded_all_estimators():
        assert sklearn.utils.all_estimators is real
    monkeypatch.undo()
    with preload.recorded_all_estimators():
        assert sklearn.utils.all_estimators is not real
        assert len(sklearn.utils.all_estimators()) > 100
    assert sklearn.utils.all_estimators is real

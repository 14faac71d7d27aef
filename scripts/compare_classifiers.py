#!/usr/bin/env python3
"""Compare intent-classifier pipelines by stratified 5-fold cross-validation on all NLU data.

usage: python scripts/compare_classifiers.py [--options lr,diet,lr_e5,...] [--folds 5]
           [--diet-epochs 60] [--out results/compare] [--remeasure]

The training data is every data/nlu*.yml file (English, Hinglish, Arabic, Hindi when present);
an example's language is the file it came from. Folds are stratified by (language, intent)
with a fixed seed. For each option and fold a real Rasa NLU model is trained with
`rasa.model_training.train_nlu` from a generated config (the featurizers of config.yml, the
option's classifier, FallbackClassifier as in config.yml; the input guard and symptom triage
are left out: they do not classify topics) and parsed with Rasa's Agent. Each option runs in
a child process. Printed per option, overall and per language:
- topic: share of ask_* examples predicted exactly (nlu_fallback counts as wrong);
- oos: share of out_of_scope examples predicted out_of_scope or nlu_fallback (both refuse);
- F1: macro F1 over the true intents (nlu_fallback is a wrong label);
- train s: mean training time of one fold (whole pipeline);
- ms/msg: mean latency of Agent.parse_message, one message at a time, in a fresh process that
  loaded the fold-1 model; RSS MB: that process's resident memory after the parses (Rasa,
  TensorFlow and the model included).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path
from subprocess import PIPE
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.datafiles import read_nlu_examples  # noqa: E402

SEED = 42
LANG_FILES = {
    "en": ROOT / "data" / "nlu.yml",
    "hinglish": ROOT / "data" / "nlu.hinglish.yml",
    "ar": ROOT / "data" / "nlu.ar.yml",
    "hi": ROOT / "data" / "nlu.hi.yml",
}
FEATURIZERS: list[dict[str, Any]] = [
    {"name": "WhitespaceTokenizer"},
    {"name": "RegexFeaturizer"},
    {"name": "LexicalSyntacticFeaturizer"},
    {"name": "CountVectorsFeaturizer"},
    {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 2, "max_ngram": 5},
]
LR = {"name": "LogisticRegressionClassifier", "max_iter": 500, "solver": "lbfgs"}
FALLBACK = {"name": "FallbackClassifier", "threshold": 0.25, "ambiguity_threshold": 0.05}
EMBED = "bot.rasa.components.embeddings.SentenceEmbeddingFeaturizer"


def diet(epochs: int) -> dict[str, Any]:
    """DIETClassifier for intents only, with a fixed seed."""
    return {
        "name": "DIETClassifier",
        "epochs": epochs,
        "entity_recognition": False,
        "constrain_similarities": True,
        "random_seed": SEED,
    }


def pipelines(diet_epochs: int) -> dict[str, list[dict[str, Any]]]:
    """The options compared, by name."""
    e5 = {"name": EMBED, "model": "e5", "scale": 4.0}
    use = {"name": EMBED, "model": "use", "scale": 4.0}
    return {
        "lr": [*FEATURIZERS, LR, FALLBACK],
        "diet": [*FEATURIZERS, diet(diet_epochs), FALLBACK],
        "lr_e5": [*FEATURIZERS, e5, LR, FALLBACK],
        "lr_use": [*FEATURIZERS, use, LR, FALLBACK],
        "lr_e5_use": [*FEATURIZERS, e5, use, LR, FALLBACK],
        "diet_e5": [*FEATURIZERS, e5, diet(diet_epochs), FALLBACK],
    }


def load_examples() -> list[tuple[str, str, str]]:
    """(language, intent, text) for every example of every language file present."""
    return [
        (lang, intent, text)
        for lang, path in LANG_FILES.items()
        if path.exists()
        for intent, text in read_nlu_examples(path)
    ]


def data_key(examples: list[tuple[str, str, str]], pipeline: list[dict[str, Any]]) -> str:
    """A hash of the examples and the pipeline: a cached result is reused only for the same."""
    return hashlib.sha256(json.dumps([examples, pipeline]).encode()).hexdigest()[:16]


def folds(examples: list[tuple[str, str, str]], k: int) -> list[list[int]]:
    """Test indices of each fold, stratified by (language, intent), fixed seed."""
    from sklearn.model_selection import StratifiedKFold

    strata = [f"{lang}/{intent}" for lang, intent, _ in examples]
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=SEED)
    return [list(test) for _, test in splitter.split(strata, strata)]


def write_nlu(path: Path, rows: list[tuple[str, str, str]]) -> None:
    """A Rasa NLU YAML file of the given examples."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    for _, intent, text in rows:
        by_intent[intent].append(text)
    blocks = [
        {"intent": intent, "examples": "".join(f"- {t}\n" for t in texts)}
        for intent, texts in by_intent.items()
    ]
    path.write_text(yaml.safe_dump({"version": "3.1", "nlu": blocks}, allow_unicode=True))


def write_config(path: Path, pipeline: list[dict[str, Any]]) -> None:
    """A Rasa config.yml with this pipeline and no policies."""
    config = {"recipe": "default.v1", "language": "en", "pipeline": pipeline, "policies": []}
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def quiet() -> None:
    """Less TensorFlow and Rasa noise."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")


def parse_all(model: str, texts: list[str]) -> tuple[list[tuple[str, str]], list[float]]:
    """(intent, top non-fallback intent) of each text and the latency of each parse, in ms."""
    from rasa.core.agent import Agent

    from bot.rasa.patches import apply

    apply()
    agent = Agent.load(model)

    async def run() -> tuple[list[tuple[str, str]], list[float]]:
        await agent.parse_message("hello")  # warm-up
        out, times = [], []
        for text in texts:
            started = time.perf_counter()
            parsed = await agent.parse_message(text)
            times.append((time.perf_counter() - started) * 1000)
            ranking = [r["name"] for r in parsed.get("intent_ranking") or []]
            raw = next((n for n in ranking if n != "nlu_fallback"), parsed["intent"]["name"])
            out.append((parsed["intent"]["name"], raw))
        return out, times

    return asyncio.run(run())


def run_option(name: str, pipeline: list[dict[str, Any]], k: int, work: Path) -> dict[str, Any]:
    """Train and test one option on every fold; predictions and training times."""
    quiet()
    from rasa.model_training import train_nlu

    examples = load_examples()
    predictions: list[tuple[str, str] | None] = [None] * len(examples)
    train_seconds = []
    config = work / f"{name}.config.yml"
    write_config(config, pipeline)
    for fold, test in enumerate(folds(examples, k)):
        held = set(test)
        data = work / f"{name}.fold{fold}.nlu.yml"
        write_nlu(data, [e for i, e in enumerate(examples) if i not in held])
        started = time.perf_counter()
        model = train_nlu(str(config), str(data), str(work), fixed_model_name=f"{name}-{fold}")
        train_seconds.append(time.perf_counter() - started)
        if model is None:
            raise RuntimeError(f"{name}: training fold {fold} failed")
        parsed, _ = parse_all(model, [examples[i][2] for i in test])
        for i, p in zip(test, parsed, strict=True):
            predictions[i] = p
        print(f"  {name} fold {fold + 1}/{k}: {train_seconds[-1]:.0f}s", file=sys.stderr)
    return {"predictions": predictions, "train_seconds": train_seconds}


def serve_figures(model: str, texts: list[str]) -> dict[str, float]:
    """Latency and memory of a fresh process that loads `model` and parses `texts`."""
    quiet()
    _, times = parse_all(model, texts)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "ms_per_msg": statistics.mean(times),
        "p95_ms": sorted(times)[int(0.95 * (len(times) - 1))],
        "rss_mb": rss,
    }


def scores(examples: list[tuple[str, str, str]], predictions: list[Any]) -> dict[str, float]:
    """Topic accuracy, out-of-scope recall, macro F1 (with and without the fallback)."""
    from sklearn.metrics import f1_score

    true = [e[1] for e in examples]
    pred = [p[0] for p in predictions]
    raw = [p[1] for p in predictions]
    topics = [i for i, t in enumerate(true) if t.startswith("ask_")]
    oos = [i for i, t in enumerate(true) if t == "out_of_scope"]
    labels = sorted(set(true))
    return {
        "n": len(true),
        "topic": sum(pred[i] == true[i] for i in topics) / max(1, len(topics)),
        "oos": sum(pred[i] in ("out_of_scope", "nlu_fallback") for i in oos) / max(1, len(oos)),
        "f1": f1_score(true, pred, labels=labels, average="macro", zero_division=0),
        "f1_raw": f1_score(true, raw, labels=labels, average="macro", zero_division=0),
        "fallback": sum(p == "nlu_fallback" for p in pred) / len(pred),
    }


def table(results: dict[str, dict[str, Any]], examples: list[tuple[str, str, str]]) -> str:
    """The Markdown table: one row per option and language."""
    langs = ["all", *dict.fromkeys(e[0] for e in examples)]
    head = (
        "| option | language | n | topic acc | oos recall | macro F1 | F1 w/o fallback "
        "| fallback | train s/fold | ms/msg | p95 ms | RSS MB |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = []
    for name, res in results.items():
        for lang in langs:
            idx = [i for i, e in enumerate(examples) if lang in ("all", e[0])]
            s = scores([examples[i] for i in idx], [res["predictions"][i] for i in idx])
            cost = (
                f"{statistics.mean(res['train_seconds']):.0f} | {res['ms_per_msg']:.1f} "
                f"| {res['p95_ms']:.1f} | {res['rss_mb']:.0f}"
                if lang == "all"
                else " | | | "
            )
            rows.append(
                f"| {name if lang == 'all' else ''} | {lang} | {s['n']} | {s['topic']:.3f} "
                f"| {s['oos']:.3f} | {s['f1']:.3f} | {s['f1_raw']:.3f} | {s['fallback']:.3f} "
                f"| {cost} |"
            )
    return head + "\n".join(rows)


def main() -> int:
    """Run the options (each in a child process), then print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--options", default="lr,diet,lr_e5,lr_use")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--diet-epochs", type=int, default=60)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "compare")
    parser.add_argument(
        "--remeasure", action="store_true", help="measure latency and RSS again (quiet machine)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # option name: CV in this process
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # model path: latency and RSS
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    options = pipelines(args.diet_epochs)
    examples = load_examples()

    if args.worker:
        work = Path(tempfile.mkdtemp(prefix=f"cmp-{args.worker}-", dir=args.out))
        res = run_option(args.worker, options[args.worker], args.folds, work)
        res["model"] = str(work / f"{args.worker}-0.tar.gz")
        print(json.dumps(res))
        return 0
    if args.serve:
        test = folds(examples, args.folds)[0]
        print(json.dumps(serve_figures(args.serve, [examples[i][2] for i in test])))
        return 0

    results: dict[str, dict[str, Any]] = {}
    me = [sys.executable, __file__, "--folds", str(args.folds), "--out", str(args.out)]
    me += ["--diet-epochs", str(args.diet_epochs)]
    for name in args.options.split(","):
        cached = args.out / f"{name}.json"
        key = data_key(examples, options[name])
        res = json.loads(cached.read_text()) if cached.exists() else {}
        # Resume: an option already cross-validated on the same data is not trained again.
        if res.get("key") == key and not args.remeasure:
            results[name] = res
            continue
        if res.get("key") != key:
            print(f"{name}: cross-validating…", file=sys.stderr, flush=True)
            out = subprocess.run([*me, "--worker", name], check=True, stdout=PIPE, text=True)
            res = {**json.loads(out.stdout.strip().splitlines()[-1]), "key": key}
        out = subprocess.run([*me, "--serve", res["model"]], check=True, stdout=PIPE, text=True)
        res.update(json.loads(out.stdout.strip().splitlines()[-1]))
        cached.write_text(json.dumps(res))
        results[name] = res
    langs = {lang: sum(e[0] == lang for e in examples) for lang in LANG_FILES}
    print(f"examples per language: {langs}; {args.folds} folds, seed {SEED}")
    print(table(results, examples))
    return 0


if __name__ == "__main__":
    sys.exit(main())

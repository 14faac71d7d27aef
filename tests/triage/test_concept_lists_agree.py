"""The emergency and treatable concept lists that the triage data files repeat agree.

YAML anchors do not reach across files, so context_rules.yml, each language file and
statuses.yml (`never_to`) write the lists of emergency concepts again. A concept added to one
and not the others would let a cue of one language close or hide an emergency."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.paths import PROJECT_ROOT

TRIAGE = PROJECT_ROOT / "data" / "triage"
FILES = [TRIAGE / "context_rules.yml", *sorted((TRIAGE / "languages").glob("*.yml"))]
ANCHORED_LIST = re.compile(r"&(\w+) \[([^\]]*)\]")
# The passing signs: a cue saying the patient is well again may close these three.
TRANSIENT = {"fainting", "dizziness", "palpitations"}


def anchored_lists(path: Path, prefix: str) -> dict[str, set[str]]:
    return {
        f"{path.name}:{name}": {word.strip() for word in words.split(",")}
        for name, words in ANCHORED_LIST.findall(path.read_text(encoding="utf-8"))
        if name.startswith(prefix)
    }


def test_every_file_writes_the_same_emergency_concepts() -> None:
    lists = {k: v for path in FILES for k, v in anchored_lists(path, "emergency").items()}
    assert len(lists) == len(FILES)
    first = next(iter(lists.values()))
    assert all(concepts == first for concepts in lists.values()), lists


def test_the_lasting_emergencies_are_the_emergencies_but_the_passing_signs() -> None:
    emergencies = anchored_lists(TRIAGE / "context_rules.yml", "emergency")
    (everything,) = emergencies.values()
    lasting = {k: v for path in FILES for k, v in anchored_lists(path, "lasting_emergency").items()}
    assert len(lasting) == len(FILES)
    statuses = yaml.safe_load((TRIAGE / "statuses.yml").read_text(encoding="utf-8"))
    never_to = [
        set(entry["never_to"]) for entry in statuses["carry_across_lists"] if "never_to" in entry
    ]
    assert never_to
    for name, concepts in [*lasting.items(), *(("statuses.yml:never_to", c) for c in never_to)]:
        assert concepts == everything - TRANSIENT, name


def test_every_file_writes_the_same_treatable_concepts() -> None:
    """The conditions patients come to have treated (TREATMENT_QUESTION cues): acne was missing
    from the Hindi and Hinglish lists, so "pimples ke liye meso?" was not read as asking."""
    lists = {k: v for path in FILES for k, v in anchored_lists(path, "treatable").items()}
    assert len(lists) == len(FILES)
    first = next(iter(lists.values()))
    assert all(concepts == first for concepts in lists.values()), lists

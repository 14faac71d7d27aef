"""`rasa data validate`, failing on every warning except the ones this design causes on purpose.

Allowed: intents that NLU components set (never trained, so "not found in the NLU training
data"); intents reached only through buttons ("yes, I am unwell now" after a cry for help);
and utter_default, which Rasa's default fallback sends.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# data/reviewed/: examples labelled in the review queue (bot/review/export.py).
NLU_FILES = sorted(
    str(p) for p in [*Path("data").glob("nlu*.yml"), *Path("data/reviewed").glob("nlu*.yml")]
)
RASA_DATA = [*NLU_FILES, "data/rules.yml", "data/stories.yml"]
COMPONENT_INTENTS = (
    "unusable_message",
    "report_symptom",
    "report_emergency",
    "help_request",
    "choose_language",
)
BUTTON_ONLY_INTENTS = ("report_unwell",)
ALLOWED = [
    *(
        f"The intent '{intent}' is listed in the domain file, but is not found in the NLU "
        "training data."
        for intent in (*COMPONENT_INTENTS, *BUTTON_ONLY_INTENTS)
    ),
    "The utterance 'utter_default' is not used in any story or rule.",
]
WARNING = re.compile(r"UserWarning: (.*?)(?:\x1b\[0m)?$")


def main(extra_nlu: list[str]) -> int:
    """Validate the project's data, plus `extra_nlu` files (e.g. a review export under test)."""
    rasa = Path(sys.executable).parent / "rasa"
    run = subprocess.run(
        [str(rasa), "data", "validate", "--data", *extra_nlu, *RASA_DATA],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    output = run.stdout + run.stderr
    warnings = [m.group(1).strip() for line in output.splitlines() if (m := WARNING.search(line))]
    unexpected = [w for w in warnings if w not in ALLOWED]
    for warning in unexpected:
        print(f"rasa data validate: {warning}")
    if run.returncode != 0:
        print(output[-4000:])
        return run.returncode
    if unexpected:
        return 1
    print(f"rasa data validate: ok ({len(warnings)} expected warnings)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

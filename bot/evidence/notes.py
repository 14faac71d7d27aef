"""Evidence-note values and the detector for answers that state a benefit.

The notes' texts and the benefit phrases are clinic-editable data under data/knowledge/.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bot.datafiles import DataFileError, read_yaml
from bot.paths import KNOWLEDGE_DIR


class MissingEvidenceNote(ValueError):
    """An answer about efficacy, or one that states a benefit, was built without its note."""


@dataclass(frozen=True)
class EvidenceNote:
    id: str
    text: str

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise MissingEvidenceNote(f"evidence note '{self.id}' has no text")


class BenefitClaimDetector:
    """Finds phrases that state a treatment benefit (lower-case substring match)."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.patterns = tuple(p.lower() for p in patterns)

    def claims_in(self, text: str) -> list[str]:
        lowered = text.lower()
        return [p for p in self.patterns if p in lowered]

    def states_benefit(self, text: str) -> bool:
        return bool(self.claims_in(text))

    @classmethod
    def from_file(cls, path: Path) -> BenefitClaimDetector:
        data = read_yaml(path)
        patterns = data.get("patterns") if isinstance(data, dict) else None
        if not patterns or not all(isinstance(p, str) and p.strip() for p in patterns):
            raise DataFileError(path, "needs a non-empty list 'patterns' of phrases")
        return cls(tuple(patterns))


@cache
def benefit_detector(path: Path = KNOWLEDGE_DIR / "benefit_claims.yml") -> BenefitClaimDetector:
    return BenefitClaimDetector.from_file(path)

"""Evidence notes: the honest line that goes with every answer about whether mesotherapy works."""

from bot.evidence.notes import BenefitClaimDetector, EvidenceNote, MissingEvidenceNote

__all__ = ["BenefitClaimDetector", "EvidenceNote", "MissingEvidenceNote"]

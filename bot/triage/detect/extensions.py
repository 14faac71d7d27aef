"""The custom attributes the triage components set (registered once, on import)."""

from __future__ import annotations

from spacy.tokens import Doc, Span

SPAN_STATUS = "status"  # MentionStatus of a symptom entity (meso_mention_status)
SPAN_MODIFIERS = "severity_modifiers"  # tuple of modifier names (meso_modifiers)
DOC_TRIAGE = "triage"  # TriageResult (meso_severity)

for _name, _default in ((SPAN_STATUS, "affirmed"), (SPAN_MODIFIERS, ())):
    if not Span.has_extension(_name):
        Span.set_extension(_name, default=_default)
if not Doc.has_extension(DOC_TRIAGE):
    Doc.set_extension(DOC_TRIAGE, default=None)


def context_modifiers(doc: Doc) -> tuple:
    """The ConText modifiers medspaCy found in `doc` (its context graph), or () before ConText
    has run."""
    graph = doc._.get("context_graph") if doc.has_extension("context_graph") else None
    return tuple(graph.modifiers) if graph is not None else ()

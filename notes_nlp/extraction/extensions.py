"""Custom attributes of spans and docs, declared once.

A mention's *status* is one exclusive value (performed, negated, planned,
historical) rather than a bag of booleans that could contradict each other;
the SPEC's ``negated``/``hypothetical``/``historical`` flags are views of it.
"""

from __future__ import annotations

from spacy.tokens import Doc, Span

from notes_nlp.labels import HISTORICAL, NEGATED, PLANNED

SPANS_KEY = "notes"
CANDIDATES_KEY = "notes_candidates"


def register() -> None:
    """Declare the extensions; safe to call more than once."""
    for name in ("status", "cue", "section", "value"):
        if not Span.has_extension(name):
            Span.set_extension(name, default=None)
    if not Span.has_extension("negated"):
        Span.set_extension("negated", getter=lambda span: span._.status == NEGATED)
        Span.set_extension("hypothetical", getter=lambda span: span._.status == PLANNED)
        Span.set_extension("historical", getter=lambda span: span._.status == HISTORICAL)
    if not Doc.has_extension("sections"):
        Doc.set_extension("sections", default=None)


register()

"""Custom attributes of spans and docs, declared once.

A mention's *status* is one exclusive value (performed, negated, planned,
historical) rather than a bag of booleans that could contradict each other;
the output's ``negated``/``hypothetical``/``historical`` flags (docs/formats.md) are views of it.
"""

from __future__ import annotations

from spacy.tokens import Doc, Span

from notes_nlp.labels import HISTORICAL, NEGATED, PLANNED

SPANS_KEY = "notes"
CANDIDATES_KEY = "notes_candidates"


_MENTIONS = ("notes_nlp", "mentions")
_CANDIDATES = ("notes_nlp", "candidates")


def candidates(doc: Doc) -> list[Span]:
    """The candidate mentions, one list that our components extend in place, starting from
    what the span ruler wrote to ``doc.spans[CANDIDATES_KEY]``. A SpanGroup makes new Span
    objects on every read and copies every span on every write (about 1 µs a span each
    way); passed as a list, each candidate is made once."""
    found = doc.user_data.get(_CANDIDATES)
    if found is None:
        found = doc.user_data[_CANDIDATES] = list(doc.spans.get(CANDIDATES_KEY, []))
    return found


def take_candidates(doc: Doc) -> list[Span]:
    """The candidates, removed from the doc: they are resolved into mentions once."""
    found = candidates(doc)
    del doc.user_data[_CANDIDATES]
    if CANDIDATES_KEY in doc.spans:
        del doc.spans[CANDIDATES_KEY]
    return found


def mention_key(span: Span) -> str:
    """Mentions are told apart by their label too: spaCy keys span extensions by offsets
    only, so a GOAL and a PROGRESS over the same words would otherwise share a value."""
    return f"{span.start_char}:{span.end_char}:{span.label_}"


def mentions(doc: Doc) -> dict[str, dict]:
    """Every mention's attributes, keyed by :func:`mention_key`. Components read and write
    here directly: going through ``span._`` costs more than the rest of their work."""
    return doc.user_data.setdefault(_MENTIONS, {})


def attributes(span: Span) -> dict:
    """One mention's attributes (status, cue, section, value), created empty."""
    return mentions(span.doc).setdefault(mention_key(span), {})


def _mention_attribute(name: str):
    def get(span: Span):
        return mentions(span.doc).get(mention_key(span), {}).get(name)

    def set_(span: Span, value) -> None:
        attributes(span)[name] = value

    return get, set_


def register() -> None:
    """Declare the extensions; safe to call more than once."""
    if not Doc.has_extension("sections"):
        Doc.set_extension("sections", default=None)
        Doc.set_extension("mentions", getter=mentions)
    for name in ("status", "cue", "section", "value"):
        if not Span.has_extension(name):
            getter, setter = _mention_attribute(name)
            Span.set_extension(name, getter=getter, setter=setter)
    if not Span.has_extension("negated"):
        Span.set_extension("negated", getter=lambda span: span._.status == NEGATED)
        Span.set_extension("hypothetical", getter=lambda span: span._.status == PLANNED)
        Span.set_extension("historical", getter=lambda span: span._.status == HISTORICAL)


register()

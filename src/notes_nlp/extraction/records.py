"""Mentions as JSON records (docs/formats.md, ``entities``)."""

from __future__ import annotations

from typing import Any

from spacy.tokens import Doc, Span

from notes_nlp.extraction.extensions import SPANS_KEY, mention_key, mentions
from notes_nlp.extraction.text_index import note_text
from notes_nlp.labels import HISTORICAL, NEGATED, PLANNED


def entity_record(span: Span, values: dict[str, Any], text: str) -> dict[str, Any]:
    """One mention; ``values`` are its attributes, ``text`` the note's."""
    status = values.get("status")
    return {
        "label": span.label_,
        "start": span.start_char,
        "end": span.end_char,
        "text": text[span.start_char : span.end_char],
        "status": status,
        "negated": status == NEGATED,
        "hypothetical": status == PLANNED,
        "historical": status == HISTORICAL,
        "cue": values.get("cue"),
        "section": values.get("section"),
        "value": values.get("value"),
    }


def entity_records(doc: Doc) -> list[dict[str, Any]]:
    found, text = mentions(doc), note_text(doc)
    return [entity_record(span, found.get(mention_key(span), {}), text) for span in doc.spans.get(SPANS_KEY, [])]

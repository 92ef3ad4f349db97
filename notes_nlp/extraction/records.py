"""Mentions as JSON records (SPEC section 4, ``entities``)."""

from __future__ import annotations

from typing import Any

from spacy.tokens import Doc, Span

from notes_nlp.extraction.extensions import SPANS_KEY


def entity_record(span: Span) -> dict[str, Any]:
    return {
        "label": span.label_,
        "start": span.start_char,
        "end": span.end_char,
        "text": span.text,
        "status": span._.status,
        "negated": span._.negated,
        "hypothetical": span._.hypothetical,
        "historical": span._.historical,
        "cue": span._.cue,
        "section": span._.section,
        "value": span._.value,
    }


def entity_records(doc: Doc) -> list[dict[str, Any]]:
    return [entity_record(span) for span in doc.spans.get(SPANS_KEY, [])]

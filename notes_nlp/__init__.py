"""notes-nlp: does a clinical note support the billed CPT 97124 or 97140?

The public entry points are kept small and import their heavy dependencies
lazily, so that ``import notes_nlp`` stays cheap for the signing check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language

__version__ = "0.1.0"


def load() -> "Language":
    """Build the extraction pipeline: ``spacy.blank("en")`` plus our own components."""
    from notes_nlp.extraction.pipeline import build

    return build()

"""notes-nlp: does a clinical note support the billed CPT 97124 or 97140?

The public entry points are kept small and import their heavy dependencies
lazily, so that ``import notes_nlp`` stays cheap for the signing check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, Iterable

    from spacy.language import Language

    from notes_nlp.model.persist import Model

__version__ = "0.1.0"


def load() -> "Language":
    """Build the extraction pipeline: ``spacy.blank("en")`` plus our own components."""
    from notes_nlp.extraction.pipeline import build

    return build()


def score(records: "Iterable[dict[str, Any]]", model: "Model | str | None" = "default") -> "list[dict[str, Any]]":
    """Score note records (docs/formats.md): one output record per input record, in order.

    ``model`` is a loaded :class:`~notes_nlp.model.persist.Model`, a model directory,
    ``"default"`` (the shipped model, or ``$NOTES_NLP_MODEL``), or None for rules only.
    """
    from notes_nlp.model.persist import load_model
    from notes_nlp.scoring import score as score_records

    if isinstance(model, str):
        model = load_model(None if model == "default" else model)
    return score_records(records, model)

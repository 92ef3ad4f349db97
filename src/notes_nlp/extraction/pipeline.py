"""Build the extraction pipeline from ``spacy.blank("en")`` and our own components.

No pretrained model is needed or downloaded. The vocabulary
(``resources/patterns/*.jsonl``) is matched in two parts: its phrases by the
span ruler, which is saved with the pipeline, and its token patterns by
``notes_token_patterns`` (see there why), so ``nlp.to_disk(path)`` then
``spacy.load(path)`` gives the same results.
"""

from __future__ import annotations

import spacy
from spacy.language import Language

import notes_nlp
from notes_nlp.extraction import attributes, context, grids, hyphens, regex_rules, sections, sentences, statements, token_patterns  # noqa: F401  (factories)
from notes_nlp.extraction.extensions import CANDIDATES_KEY
from notes_nlp.extraction.resources import pattern_files, read_jsonl


def build() -> Language:
    nlp = spacy.blank("en")
    nlp.meta["name"] = "notes_nlp_extraction"
    nlp.meta["version"] = notes_nlp.__version__
    nlp.meta["requirements"] = [f"notes-nlp=={notes_nlp.__version__}"]
    nlp.add_pipe("notes_sentences")
    nlp.add_pipe("notes_sections")
    ruler = nlp.add_pipe(
        "span_ruler",
        name="notes_vocabulary",
        config={"spans_key": CANDIDATES_KEY, "phrase_matcher_attr": "LOWER", "overwrite": True},
    )
    ruler.add_patterns([p for name in pattern_files() for p in read_jsonl(name) if isinstance(p["pattern"], str)])
    nlp.add_pipe("notes_token_patterns")
    nlp.add_pipe("notes_hyphens")
    nlp.add_pipe("notes_regex")
    nlp.add_pipe("notes_grids")
    nlp.add_pipe("notes_statements")
    nlp.add_pipe("notes_attributes")
    nlp.add_pipe("notes_context")
    return nlp

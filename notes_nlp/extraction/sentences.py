"""Sentence boundaries for clinical notes.

Notes break lines where prose would put a full stop: headers, bullets,
checkbox rows and signature lines all start on a new line without
punctuation. spaCy's sentencizer only knows punctuation, so this component
also starts a sentence after every line break and at every inline bullet (•).
One pass over the tokens.
"""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

_END_PUNCT = frozenset({".", "!", "?", ";"})


class NoteSentences:
    """Mark ``token.is_sent_start`` from punctuation, line breaks and bullets."""

    def __call__(self, doc: Doc) -> Doc:
        previous = None
        for token in doc:
            if previous is None:
                token.is_sent_start = True
            else:
                token.is_sent_start = (
                    "\n" in previous.text
                    or "\n" in previous.whitespace_
                    or (previous.text in _END_PUNCT and token.text not in _END_PUNCT)
                    or token.text == "•"
                )
            previous = token
        return doc


@Language.factory("notes_sentences")
def make_sentences(nlp: Language, name: str) -> NoteSentences:
    return NoteSentences()

"""Sentence boundaries for clinical notes.

Notes break lines where prose would put a full stop: headers, bullets,
checkbox rows and signature lines all start on a new line without
punctuation. spaCy's sentencizer only knows punctuation, so this component
also starts a sentence after every line break at every inline bullet (•) and after a spaced separator (" -- ", " | "); a full stop after a
few abbreviations ("incl.", "approx.", "vs.") does not end a sentence.
One pass over the tokens.
"""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

_END_PUNCT = frozenset({".", "!", "?", ";"})
# A full stop after these ends an abbreviation, not a sentence ("incl. R shoulder checks").
_ABBREVIATIONS = frozenset({"incl", "approx", "vs", "eg", "e.g", "ie", "i.e", "esp", "dr", "mr", "mrs", "ms", "st"})
# A dash or bar set off by spaces separates items as a full stop would ("pain 7/10 -- STG: ...").
_SEPARATORS = frozenset({"--", "—", "|", "||"})


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
                    or (previous.text in _END_PUNCT and token.text not in _END_PUNCT and not _abbreviation(previous))
                    or token.text == "•"
                    or (previous.text in _SEPARATORS and previous.i > 0 and previous.doc[previous.i - 1].whitespace_ != "")
                )
            previous = token
        return doc


def _abbreviation(full_stop) -> bool:
    """A "." right after an abbreviation, with the next word on the same line."""
    if full_stop.text != "." or full_stop.i == 0 or "\n" in full_stop.whitespace_:
        return False
    before = full_stop.doc[full_stop.i - 1]
    return before.whitespace_ == "" and before.lower_ in _ABBREVIATIONS


@Language.factory("notes_sentences")
def make_sentences(nlp: Language, name: str) -> NoteSentences:
    return NoteSentences()

"""Sentence boundaries for clinical notes.

Notes break lines where prose would put a full stop: headers, bullets,
checkbox rows and signature lines all start on a new line without
punctuation. spaCy's sentencizer only knows punctuation, so this component
also starts a sentence after every line break, at every inline bullet (•) and after
a spaced separator (" -- ", " | "), except where a full line of prose was only
wrapped (faxes, scans); a full stop after a few abbreviations ("incl.", "approx.",
"vs.") does not end a sentence.
One pass over the token strings.
"""

from __future__ import annotations

import numpy
from spacy.attrs import IDX, LENGTH, SENT_START, SPACY
from spacy.language import Language
from spacy.tokens import Doc

from notes_nlp.extraction.text_index import note_text

_END_PUNCT = frozenset({".", "!", "?", ";"})
# A full stop after these ends an abbreviation, not a sentence ("incl. R shoulder checks").
_ABBREVIATIONS = frozenset({"incl", "approx", "vs", "eg", "e.g", "ie", "i.e", "esp", "dr", "mr", "mrs", "ms", "st"})
# A dash or bar set off by spaces separates items as a full stop would ("pain 7/10 -- STG: ...").
_SEPARATORS = frozenset({"--", "—", "|", "||"})
# A line this long that breaks mid-sentence was wrapped, not ended.
_FULL_LINE = 50
# Words a line of prose does not end on: the sentence goes on after the break.
_JOINING_WORDS = frozenset({"and", "or", "the", "a", "an", "of", "to", "with", "w/", "at", "in", "on", "for", "by", "from", "into", "per", "x", "&", "+"})


class NoteSentences:
    """Mark sentence starts from punctuation, line breaks and bullets, in one pass over
    the token strings (no Token objects: this runs on every note)."""

    def __call__(self, doc: Doc) -> Doc:
        if not len(doc):
            return doc
        text = note_text(doc)
        columns = doc.to_array([IDX, LENGTH, SPACY]).tolist()
        words = [text[idx : idx + length] for idx, length, _ in columns]
        spaced = [bool(space) for _, _, space in columns]
        starts = [1] + [
            1 if _starts_sentence(words, spaced, i) and not _wrapped(text, columns[i][0], words[i]) else -1
            for i in range(1, len(words))
        ]
        doc.from_array([SENT_START], numpy.array(starts, dtype="int64").astype("uint64").reshape(-1, 1))
        return doc


def _starts_sentence(words: list[str], spaced: list[bool], i: int) -> bool:
    previous, word = words[i - 1], words[i]
    return (
        "\n" in previous
        or (previous in _END_PUNCT and word not in _END_PUNCT and not _abbreviation(words, spaced, i - 1))
        or word == "•"
        or (previous in _SEPARATORS and i > 1 and spaced[i - 2])
    )


def _wrapped(text: str, start: int, word: str) -> bool:
    """Whether a line break before a word only wraps a line of prose, as faxes and scans do
    ("Effleurage and petrissage bilat\nlumbar paraspinals 15 min"): the line before is full
    and ends mid-sentence, and this line goes on in lower case, or the line before ends on a
    comma, a hyphen or a word that joins ("performed by Tessa Greer,\nLMT"). A capital after
    a full line may start a new item of a list, so it ends the sentence."""
    end = text.rfind("\n", 0, start)
    if end < 0 or text[end:start].strip() or text[end:start].count("\n") != 1:
        return False
    line = text[text.rfind("\n", 0, end) + 1 : end].rstrip()
    if len(line) > 2 and line[-1] == "-" and line[-2].isalpha() and word[:1].islower():
        return True  # a word hyphenated across the break ("effleu-\nrage")
    if len(line) < _FULL_LINE or not (line[-1].isalnum() or line[-1] in ",-"):
        return False
    return word[:1].islower() or line[-1] in ",-" or line.rsplit(None, 1)[-1].lower() in _JOINING_WORDS


def _abbreviation(words: list[str], spaced: list[bool], i: int) -> bool:
    """A "." right after an abbreviation ("incl. R shoulder")."""
    return words[i] == "." and i > 0 and not spaced[i - 1] and words[i - 1].lower() in _ABBREVIATIONS


@Language.factory("notes_sentences")
def make_sentences(nlp: Language, name: str) -> NoteSentences:
    return NoteSentences()

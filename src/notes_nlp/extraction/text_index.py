"""A note's text and sentences, computed once per doc.

spaCy rebuilds ``Doc.text`` from every token each time it is read, and
``Span.sent`` walks the tokens back to the sentence start (after checking the
whole doc for sentence annotation) each time. Components ask for both many
times per note, so here they are computed once, from arrays rather than
Token objects, and kept in ``doc.user_data``. Neither changes after the
sentence component has run: no component of ours retokenizes.
"""

from __future__ import annotations

from typing import NamedTuple

from spacy.attrs import IDX, LENGTH, SENT_START
from spacy.language import Language
from spacy.tokens import Doc

from notes_nlp.extraction.tokenizer_cache import warm

_TEXT = ("notes_nlp", "text")
_SENTENCES = ("notes_nlp", "sentences")
_SENTENCE_OF = ("notes_nlp", "sentence_of")


class Sentence(NamedTuple):
    start: int  # token index
    end: int  # token index, exclusive
    start_char: int
    end_char: int


def tokenized(nlp: Language, text: str) -> Doc:
    """The tokens of a text, with the text kept, for ``nlp.pipe``: the pipeline's hot path
    then never rebuilds it. The tokenizer's cache is warmed first (see tokenizer_cache)."""
    warm(nlp, text)
    doc = nlp.make_doc(text)
    doc.user_data[_TEXT] = text
    return doc


def note_text(doc: Doc) -> str:
    """The doc's text, joined once."""
    text = doc.user_data.get(_TEXT)
    if text is None:
        text = doc.user_data[_TEXT] = doc.text
    return text


def sentences(doc: Doc) -> list[Sentence]:
    """The sentences in order, from the boundaries the sentence component set."""
    found = doc.user_data.get(_SENTENCES)
    if found is None:
        found = doc.user_data[_SENTENCES] = _sentences(doc)
    return found


def sentence_of(doc: Doc, token: int) -> Sentence:
    """The sentence that contains a token index: looked up in a list with every token's
    sentence, made once per doc, since components ask about nearly every mention."""
    of_token = doc.user_data.get(_SENTENCE_OF)
    if of_token is None:
        of_token = doc.user_data[_SENTENCE_OF] = [sent for sent in sentences(doc) for _ in range(sent.start, sent.end)]
    return of_token[token]


def _sentences(doc: Doc) -> list[Sentence]:
    if not len(doc):
        return []
    columns = doc.to_array([IDX, LENGTH, SENT_START]).tolist()
    starts = [0] + [i for i in range(1, len(columns)) if columns[i][2] == 1] + [len(columns)]
    return [
        Sentence(start, end, columns[start][0], columns[end - 1][0] + columns[end - 1][1])
        for start, end in zip(starts, starts[1:])
    ]

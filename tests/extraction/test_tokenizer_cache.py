"""Warming the tokenizer's cache changes how fast a note is tokenized, never its tokens."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path

import pytest
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.language import Language
from spacy.tokens import Doc

from notes_nlp.extraction import tokenizer_cache
from notes_nlp.extraction.text_index import tokenized

ROOT = Path(__file__).resolve().parents[2]
CORPUS = [
    ROOT / "corpus" / "generated" / "notes.jsonl",
    *sorted((ROOT / "corpus" / "handwritten").glob("*.jsonl")),
    ROOT / "corpus" / "samples" / "notes.jsonl",
]

# Chunks with special cases ("Dr.", "a.m.", "don't", emoticons), the affixes they are split
# into, and neighbours that change the special-case pass: "wks): ))" keeps ")" ":" apart.
PIECES = [
    "pain", "wks):", "):", ":)", ":P", "(:", ":((", "))", "((", ")", "(", ":", ";", ".", ",", "-",
    "Dr.", "a.m.", "e.g.", "don't", "pt's", "'s", "x", "3/10", "(3", "STG", "[R]", "C5-6", "97140-59", "40°",
]
SEPARATORS = [" ", " ", " ", "", "  ", "\n", "\n\n", " \n", "\t", "\xa0", " \t "]


def corpus_notes() -> list[str]:
    return [json.loads(line)["text"] for path in CORPUS for line in path.read_text().splitlines() if line.strip()]


def tokens(doc: Doc) -> list[tuple[str, str, str]]:
    """Each token's text, trailing space and norm (special cases set a few: "n't" is "not")."""
    return [(token.text, token.whitespace_, token.norm_) for token in doc]


@pytest.fixture(scope="module")
def reference() -> Language:
    """Tokenizes with ``nlp.make_doc`` alone, as before the cache was warmed."""
    return spacy.blank("en")


@pytest.fixture(scope="module")
def shared() -> Language:
    """Shared by the generated texts, so that later ones meet a warm cache."""
    return spacy.blank("en")


def test_every_corpus_note_has_the_same_tokens_cold_warm_and_in_a_memory_zone(reference):
    nlp, notes = spacy.blank("en"), corpus_notes()
    for _ in range(2):
        assert [tokens(tokenized(nlp, note)) for note in notes] == [tokens(reference.make_doc(note)) for note in notes]
    with nlp.memory_zone(), reference.memory_zone():
        assert [tokens(tokenized(nlp, note)) for note in notes] == [tokens(reference.make_doc(note)) for note in notes]


def test_nothing_is_warmed_in_a_memory_zone_and_the_zone_leaves_no_stale_entry(reference):
    nlp, notes = spacy.blank("en"), corpus_notes()[::7]
    with nlp.memory_zone(), reference.memory_zone():
        assert [tokens(tokenized(nlp, note)) for note in notes] == [tokens(reference.make_doc(note)) for note in notes]
    assert not tokenizer_cache._warmed[nlp]
    assert [tokens(tokenized(nlp, note)) for note in notes] == [tokens(reference.make_doc(note)) for note in notes]


def test_no_more_chunks_are_remembered_than_spacy_caches(reference):
    nlp, notes = spacy.blank("en"), corpus_notes()[::5]
    nlp.tokenizer.max_cache_size = 100
    assert [tokens(tokenized(nlp, note)) for note in notes] == [tokens(reference.make_doc(note)) for note in notes]
    assert len(tokenizer_cache._warmed[nlp]) == 100


def test_a_repeated_note_is_not_split_by_the_affix_regexes_again():
    """sample-1's first line ends in "\\n", a special case: spaCy alone would re-split most of it."""
    nlp = spacy.blank("en")
    note = json.loads(CORPUS[-1].read_text().splitlines()[0])["text"]
    searched: list[str] = []
    search = nlp.tokenizer.suffix_search
    nlp.tokenizer.suffix_search = lambda text: searched.append(text) or search(text)
    tokenized(nlp, note)
    assert searched
    searched.clear()
    tokenized(nlp, note)
    assert searched == []


@pytest.mark.parametrize("text", ["wks): ))", "pain): (( x", "STG (3 wks): stand", "Dr. (: a.m. .", " x  y \n"])
def test_neighbouring_chunks_that_change_the_special_cases(reference, text):
    """Each chunk is warmed alone first, where the special cases may join its tokens differently."""
    nlp = spacy.blank("en")
    for chunk in text.split():
        tokenized(nlp, chunk)
    assert tokens(tokenized(nlp, text)) == tokens(reference.make_doc(text))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(PIECES) | st.text("aZ09.:;()'-", max_size=4), st.sampled_from(SEPARATORS))),
    st.booleans(),
)
def test_any_text_has_the_same_tokens(reference, shared, parts, in_zone):
    text = "".join(piece + separator for piece, separator in parts)
    with shared.memory_zone() if in_zone else nullcontext():
        assert tokens(tokenized(shared, text)) == tokens(reference.make_doc(text))

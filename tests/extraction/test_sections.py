"""The header words' trie matches what the longest-first alternation of the words matched."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from notes_nlp.extraction.sections import word_trie

WORDS = st.lists(st.text(alphabet="abAB /-'", min_size=1, max_size=6), min_size=1, max_size=12)
CONTINUATION = r"\b(?:[ \t]+[^:\n.;]{0,5}?)?[ \t]*:"


def longest_first(words: list[str]) -> str:
    return "|".join(re.escape(word) for word in sorted(set(words), key=len, reverse=True))


def matches(alternation: str, text: str) -> list:
    pattern = re.compile(rf"(?P<h>(?i:{alternation})){CONTINUATION}|(?i:{alternation})$", re.MULTILINE)
    return [(m.span(), m.group("h")) for m in pattern.finditer(text)]


@settings(max_examples=300, deadline=None)
@given(WORDS, st.text(alphabet="abAB /-':.\n", max_size=40))
def test_the_trie_finds_what_the_longest_first_alternation_finds(words, text):
    assert matches(word_trie(words), text) == matches(longest_first(words), text)


def test_a_word_that_is_a_prefix_of_another_is_tried_after_it():
    assert word_trie(["plan", "plan of care", "p/u"]) == r"p(?:/u|lan(?:\ of\ care)?)"
    assert re.fullmatch(word_trie(["tx", "tx plan"]), "tx plan")

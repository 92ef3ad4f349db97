"""Trying token patterns only around their anchor words finds what spaCy's Matcher finds."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.matcher import Matcher
from spacy.tokens import Doc

from notes_nlp.extraction.resources import read_jsonl
from notes_nlp.extraction.text_index import sentences, tokenized
from notes_nlp.extraction.token_patterns import AnchoredMatcher, token_patterns

ROOT = Path(__file__).resolve().parents[2]


def corpus_texts(every: int = 10) -> list[str]:
    paths = [ROOT / "corpus" / "generated" / "notes.jsonl", *sorted((ROOT / "corpus" / "handwritten").glob("*.jsonl"))]
    lines = [line for path in paths for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [json.loads(line)["text"] for line in lines[::every]]


def plain_matches(nlp, patterns: list[list[dict]], doc, ranges: list[tuple[int, int]]) -> set[tuple[int, int, int]]:
    matcher = Matcher(nlp.vocab)
    for index, pattern in enumerate(patterns):
        matcher.add(str(index), [pattern])
    return {
        (int(span.label_), span.start, span.end)
        for start, end in ranges
        for span in matcher(doc[start:end], as_spans=True)
        if len(span)
    }


def test_the_vocabularys_token_patterns_match_as_one_matcher_on_the_whole_note(nlp):
    patterns = [record["pattern"] for record in token_patterns()]
    anchored = AnchoredMatcher(nlp.vocab, patterns)
    found = 0
    for text in corpus_texts():
        doc = tokenized(nlp, text)
        expected = plain_matches(nlp, patterns, doc, [(0, len(doc))])
        assert set(anchored(doc)) == expected
        found += len(expected)
    assert found > 100


def test_the_context_pattern_cues_match_as_one_matcher_per_sentence(nlp):
    patterns = [record["pattern"] for record in read_jsonl("context.jsonl") if "pattern" in record]
    anchored = AnchoredMatcher(nlp.vocab, patterns)
    found = 0
    for text in corpus_texts():
        doc = nlp(text)
        ranges = [(sent.start, sent.end) for sent in sentences(doc)]
        expected = plain_matches(nlp, patterns, doc, ranges)
        assert set(anchored(doc, ranges)) == expected
        found += len(expected)
    assert found > 100


REPEATING = [
    [{"LOWER": "a"}, {"LOWER": {"IN": ["b", "c"]}, "OP": "*"}, {"LOWER": "d"}],
    [{"LOWER": "b", "OP": "?"}, {"LOWER": "x", "OP": "+"}, {"LOWER": "y"}],
    [{"LOWER": "p"}, {"LOWER": "q", "OP": "!"}, {"LOWER": {"IN": ["r", "b"]}, "OP": "*"}],
    [{"LOWER": "c", "OP": "*"}, {"IS_DIGIT": True, "OP": "*"}, {"LOWER": "d"}],
    [{"TEXT": {"REGEX": "^\\d+$"}}, {"ORTH": "M"}],
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from("a b c d x y p q r M 1 22 z".split()), max_size=25))
def test_patterns_that_repeat_negate_or_test_no_text_match_as_one_matcher(nlp, words):
    doc = Doc(nlp.vocab, words=words)
    assert set(AnchoredMatcher(nlp.vocab, REPEATING)(doc)) == plain_matches(nlp, REPEATING, doc, [(0, len(doc))])

"""The vocabulary's token patterns, tried only where they can match.

spaCy's Matcher tries every pattern at every token, which costs about as much
per pattern as tokenizing the note; the vocabulary's few dozen token patterns
("grade III PA glides", fuzzy "effleurage") cost more than the rest of the
pipeline together. Yet each pattern has a mandatory *anchor* token (a word
list, a regex or a fuzzy word) that most notes contain rarely or never. Each
distinct word is tested against the anchors once per process (the answers
are cached), and a pattern's own Matcher runs only on the few tokens around
its anchor words: as far before and after as the pattern can reach (the
whole note for a pattern with an unbounded ``*`` or ``+``). The matches are
exactly those of one Matcher over all the patterns on the whole note. Phrase
patterns stay in the span ruler, whose PhraseMatcher is already fast. ConText's
few pattern cues are matched the same way (:class:`AnchoredMatcher`), within
the sentences that hold a target.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from spacy.attrs import ORTH
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.matcher.levenshtein import levenshtein_compare
from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from notes_nlp.extraction.extensions import CANDIDATES_KEY
from notes_nlp.extraction.resources import pattern_files, read_jsonl

WordTest = Callable[[str], bool]
_MANDATORY = (None, "1", "+")  # ops under which a pattern token must be present
_CACHE_LIMIT = 200_000  # distinct words remembered; cleared beyond, so memory stays flat


def token_patterns() -> list[dict[str, Any]]:
    """The vocabulary's patterns written as token lists (the rest are phrases)."""
    return [p for name in pattern_files() for p in read_jsonl(name) if isinstance(p["pattern"], list)]


def _value_test(attr: str, value: Any) -> WordTest | None:
    """What a token's text must satisfy for one attribute of a pattern token, or None when
    the attribute is not about the text (IS_PUNCT, LIKE_NUM, ...)."""
    if attr not in ("LOWER", "ORTH", "TEXT"):
        return None
    fold: Callable[[str], str] = str.lower if attr == "LOWER" else str
    if isinstance(value, str):
        return lambda word: fold(word) == value
    if not isinstance(value, dict) or len(value) != 1:
        return None
    (operator, argument), = value.items()
    if operator == "IN":
        allowed = frozenset(argument)
        return lambda word: fold(word) in allowed
    if operator == "REGEX":
        pattern = re.compile(argument)
        return lambda word: pattern.search(fold(word)) is not None
    if operator == "FUZZY" and isinstance(argument, str):
        return lambda word: fold(word) == argument or levenshtein_compare(fold(word), argument, -1)
    return None


@dataclass(frozen=True)
class Anchor:
    """A test that one token of every match passes, and how many tokens a match can
    have before and after that token (None: unbounded)."""

    test: WordTest
    before: int | None
    after: int | None


def _reach(tokens: list[dict[str, Any]]) -> int | None:
    if any(token.get("OP") in ("*", "+") for token in tokens):
        return None
    return len(tokens)


def anchor(pattern: list[dict[str, Any]]) -> Anchor | None:
    """The first mandatory token whose text is constrained, or None when no token
    qualifies (the pattern then runs on the whole of every note)."""
    for index, token in enumerate(pattern):
        if token.get("OP") not in _MANDATORY:
            continue
        for attr, value in token.items():
            test = _value_test(attr, value)
            if test is not None:
                return Anchor(test, _reach(pattern[:index]), _reach(pattern[index + 1 :]))
    return None


@dataclass
class _Pattern:
    matcher: Matcher
    anchor: Anchor | None


class AnchoredMatcher:
    """Token patterns, each tried only around its anchor words: the matches one spaCy
    Matcher of all the patterns would find, as (pattern index, start, end) token ranges."""

    def __init__(self, vocab: Vocab, patterns: list[list[dict[str, Any]]]) -> None:
        self.vocab = vocab
        self.patterns: list[_Pattern] = []
        for pattern in patterns:
            matcher = Matcher(vocab)
            matcher.add(str(len(self.patterns)), [pattern])
            self.patterns.append(_Pattern(matcher, anchor(pattern)))
        self.always = tuple(i for i, p in enumerate(self.patterns) if p.anchor is None)
        self._anchored_by: dict[int, tuple[int, ...]] = {}

    def _patterns_of(self, orth: int) -> tuple[int, ...]:
        """The patterns whose anchor this word passes (cached per distinct word)."""
        found = self._anchored_by.get(orth)
        if found is None:
            if len(self._anchored_by) >= _CACHE_LIMIT:
                self._anchored_by.clear()
            word = self.vocab.strings[orth]
            found = tuple(i for i, p in enumerate(self.patterns) if p.anchor is not None and p.anchor.test(word))
            self._anchored_by[orth] = found
        return found

    def __call__(self, doc: Doc, ranges: Iterable[tuple[int, int]] | None = None) -> list[tuple[int, int, int]]:
        """The non-empty matches within each token range ``(start, end)`` (the whole doc by
        default), as a Matcher run on each range alone would find them."""
        orths = doc.to_array(ORTH).tolist()
        found = []
        for start, end in [(0, len(doc))] if ranges is None else ranges:
            windows: dict[int, list[tuple[int, int]]] = {index: [(start, end)] for index in self.always}
            for position in range(start, end):
                for index in self._patterns_of(orths[position]):
                    reach = self.patterns[index].anchor
                    low = start if reach.before is None else max(start, position - reach.before)
                    high = end if reach.after is None else min(end, position + reach.after + 1)
                    windows.setdefault(index, []).append((low, high))
            found += [
                (index, match.start, match.end)
                for index, spans in windows.items()
                for low, high in _merged(spans)
                for match in self.patterns[index].matcher(doc[low:high], as_spans=True)
                if len(match)
            ]
        return found


class TokenPatterns:
    """Add the token-pattern matches to ``doc.spans[CANDIDATES_KEY]``, as the span ruler
    would: deduplicated and sorted with the phrase matches already there."""

    def __init__(self, nlp: Language) -> None:
        records = token_patterns()
        self.matcher = AnchoredMatcher(nlp.vocab, [record["pattern"] for record in records])
        self.labels = [(record["label"], record.get("id", "")) for record in records]

    def __call__(self, doc: Doc) -> Doc:
        found = set()
        for index, start, end in self.matcher(doc):
            label, ident = self.labels[index]
            found.add(Span(doc, start, end, label=label, span_id=ident))
        if found:
            doc.spans[CANDIDATES_KEY] = sorted(found | set(doc.spans.get(CANDIDATES_KEY, [])))
        return doc


def _merged(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching token ranges joined, in order."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


@Language.factory("notes_token_patterns")
def make_token_patterns(nlp: Language, name: str) -> TokenPatterns:
    return TokenPatterns(nlp)

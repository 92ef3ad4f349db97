"""The vocabulary's token patterns, tried only where they can match.

spaCy's Matcher tries every pattern at every token, which costs about as much
per pattern as tokenizing the note; the vocabulary's few dozen token patterns
("grade III PA glides", fuzzy "effleurage") cost more than the rest of the
pipeline together. Yet each pattern has a mandatory *anchor* token (a word
list, a regex or a fuzzy word) that most notes contain rarely or never. Each
distinct word is tested against the anchors once per process (the answers
are cached), and a pattern's own Matcher runs only on the few tokens around
its anchor words: as far before and after as the pattern can reach; past a
``*`` or ``+``, as far as the neighbouring words could be taken by the pattern's
tokens on that side ("goals were all met": the words "were", "all" and "met").
The matches are exactly those of one Matcher over all the patterns on the
whole note. Phrase patterns stay in the span ruler, whose PhraseMatcher is
already fast. ConText's few pattern cues are matched the same way
(:class:`AnchoredMatcher`), within the sentences that hold a target.
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

from notes_nlp.extraction.extensions import candidates
from notes_nlp.extraction.resources import pattern_files, read_jsonl

WordTest = Callable[[str], bool]
_MANDATORY = (None, "1", "+")  # ops under which a pattern token must be present
_AT_MOST_ONE = (None, "1", "?", "!")  # ops under which it takes one word or none ("*", "+", "{2,4}" take more)
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
    if operator.startswith("FUZZY") and isinstance(argument, str):
        edits = int(operator[5:] or -1)  # "FUZZY2": at most 2 edits; "FUZZY": spaCy's default
        return lambda word: fold(word) == argument or levenshtein_compare(fold(word), argument, edits)
    return None


@dataclass(frozen=True)
class Anchor:
    """A test that one token of every match passes, and how far a match can reach before
    and after that token: a number of tokens, or (None) past a ``*`` or ``+``. There a match
    still ends where the neighbouring words stop passing ``before_run``/``after_run``, the
    tests of the pattern tokens on that side (each token of a match passes the test of the
    pattern token that took it); with no run test either, it may reach the note's ends."""

    test: WordTest
    before: int | None
    after: int | None
    before_run: WordTest | None = None
    after_run: WordTest | None = None


def _reach(tokens: list[dict[str, Any]]) -> int | None:
    if any(token.get("OP") not in _AT_MOST_ONE for token in tokens):
        return None
    return len(tokens)


def _token_test(token: dict[str, Any]) -> WordTest | None:
    return next((test for attr, value in token.items() if (test := _value_test(attr, value))), None)


def _is_regex(token: dict[str, Any]) -> bool:
    return any(isinstance(value, dict) and "REGEX" in value for value in token.values())


def _run_test(tokens: list[dict[str, Any]]) -> WordTest | None:
    """A word any of these pattern tokens could take, or None when one of them tests no text."""
    tests = [_token_test(token) for token in tokens]
    if not all(tests) or any(token.get("OP") == "!" for token in tokens):  # "!" takes a word that fails
        return None
    return lambda word: any(test(word) for test in tests)


def anchor(pattern: list[dict[str, Any]]) -> Anchor | None:
    """A mandatory token whose text is constrained, or None when no token qualifies (the
    pattern then runs on the whole of every note). A word list is preferred to a regex,
    which mostly tests numbers ("4 Met"): fewer anchor words, fewer places to try."""
    candidates = [
        (_is_regex(token), index)
        for index, token in enumerate(pattern)
        if token.get("OP") in _MANDATORY and _token_test(token)
    ]
    if not candidates:
        return None
    _, index = min(candidates)  # a "+" anchor's repeats are anchor words too: their windows join
    before, after = pattern[:index], pattern[index + 1 :]
    reach_before, reach_after = _reach(before), _reach(after)
    return Anchor(
        _token_test(pattern[index]),
        reach_before,
        reach_after,
        _run_test(before) if reach_before is None else None,
        _run_test(after) if reach_after is None else None,
    )


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
        self._runs: dict[tuple[int, str, int], bool] = {}

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

    def _passes(self, index: int, side: str, orth: int) -> bool:
        """Whether a word could stand on that side of pattern ``index``'s anchor (cached)."""
        key = (index, side, orth)
        found = self._runs.get(key)
        if found is None:
            if len(self._runs) >= _CACHE_LIMIT:
                self._runs.clear()
            anchor = self.patterns[index].anchor
            found = self._runs[key] = (anchor.before_run if side == "before" else anchor.after_run)(self.vocab.strings[orth])
        return found

    def _window(self, index: int, orths: list[int], position: int, start: int, end: int) -> tuple[int, int]:
        """The tokens a match of pattern ``index`` anchored at ``position`` can span, within start:end."""
        anchor = self.patterns[index].anchor
        if anchor.before is not None:
            low = max(start, position - anchor.before)
        elif anchor.before_run is None:
            low = start
        else:
            low = position
            while low > start and self._passes(index, "before", orths[low - 1]):
                low -= 1
        if anchor.after is not None:
            high = min(end, position + anchor.after + 1)
        elif anchor.after_run is None:
            high = end
        else:
            high = position + 1
            while high < end and self._passes(index, "after", orths[high]):
                high += 1
        return low, high

    def __call__(self, doc: Doc, ranges: Iterable[tuple[int, int]] | None = None) -> list[tuple[int, int, int]]:
        """The non-empty matches within each token range ``(start, end)`` (the whole doc by
        default), as a Matcher run on each range alone would find them."""
        orths = doc.to_array(ORTH).tolist()
        found = []
        for start, end in [(0, len(doc))] if ranges is None else ranges:
            windows: dict[int, list[tuple[int, int]]] = {index: [(start, end)] for index in self.always}
            for position in range(start, end):
                for index in self._patterns_of(orths[position]):
                    windows.setdefault(index, []).append(self._window(index, orths, position, start, end))
            found += [
                (index, match.start, match.end)
                for index, spans in windows.items()
                for low, high in _merged(spans)
                for match in self.patterns[index].matcher(doc[low:high], as_spans=True)
                if len(match)
            ]
        return found


class TokenPatterns:
    """Add the token-pattern matches to the candidates, as the span ruler
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
            spans = candidates(doc)
            spans[:] = sorted(found.union(spans))
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

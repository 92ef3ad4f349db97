"""Regex rules: numbers, codes and credentials that token patterns express badly.

"10:05-10:30", "97140-59x2", "M54.2" and "6/10" do not tokenize the same way
in every note, so they are matched on the text and snapped to token
boundaries. Rules live in ``resources/regex.jsonl``; a rule's optional named
group ``span`` marks the part of the match that becomes the span (the rest is
context, such as the comma before a credential), and ``{number}`` stands for a
number in words (``numbers.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from spacy.language import Language
from spacy.tokens import Doc, Span

from notes_nlp.extraction.extensions import candidates
from notes_nlp.extraction.numbers import expand
from notes_nlp.extraction.first_chars import compile_guarded, digit_led, finditer_from
from notes_nlp.extraction.resources import read_jsonl
from notes_nlp.extraction.text_index import note_text


_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class RegexRule:
    label: str
    id: str
    pattern: re.Pattern[str]
    digit_led: bool  # tried only where the note has a digit (most measures and times)


def compile_rules(records: Iterable[dict]) -> list[RegexRule]:
    rules = []
    for record in records:
        flags = 0 if record.get("case") else re.IGNORECASE
        try:
            pattern = compile_guarded(expand(record["regex"]), flags | re.MULTILINE)
        except re.error as exc:
            raise ValueError(f"regex.jsonl: bad regex for {record['label']} ({record['id']}): {exc}") from exc
        rules.append(RegexRule(record["label"], record["id"], pattern, digit_led(pattern)))
    return rules


class RegexMatcher:
    """Add a candidate span (:func:`~notes_nlp.extraction.extensions.candidates`) for every regex match."""

    def __init__(self) -> None:
        self.rules = compile_rules(read_jsonl("regex.jsonl"))

    def __call__(self, doc: Doc) -> Doc:
        found: list[Span] = []
        text = note_text(doc)
        digits = [match.start() for match in _DIGIT.finditer(text)]
        for rule in self.rules:
            for match in finditer_from(rule.pattern, text, digits) if rule.digit_led else rule.pattern.finditer(text):
                group = "span" if "span" in rule.pattern.groupindex else 0
                start, end = match.span(group)
                span = doc.char_span(start, end, label=rule.label, kb_id=rule.id, alignment_mode="expand")
                if span is not None and len(span):
                    found.append(span)
        candidates(doc).extend(found)
        return doc


@Language.factory("notes_regex")
def make_regex(nlp: Language, name: str) -> RegexMatcher:
    return RegexMatcher()

"""Section detection: which part of the note (Subjective, Plan, ...) a mention is in.

Headers come from ``resources/sections.jsonl``. The section matters for
context: a technique listed under *Plan* with a future cue is planned, one
under *History* is historical. Sections are stored as character ranges in
``doc._.sections`` so that any span can look its section up.
"""

from __future__ import annotations

import bisect
import re
from typing import Iterable

from spacy.language import Language
from spacy.tokens import Doc, Span

from notes_nlp.extraction import extensions  # noqa: F401  (declares doc._.sections)
from notes_nlp.extraction.resources import read_jsonl


def compile_headers(rules: Iterable[dict]) -> tuple[re.Pattern[str], dict[str, str]]:
    """One regex for all headers, and the map from a header (lower case) to its section."""
    by_header: dict[str, str] = {}
    letters: dict[str, str] = {}
    for rule in rules:
        for header in rule["headers"]:
            (letters if len(header) == 1 else by_header)[header.lower() if len(header) > 1 else header] = rule["section"]
    words = "|".join(re.escape(h) for h in sorted(by_header, key=len, reverse=True))
    singles = "".join(sorted(letters))
    pattern = re.compile(
        rf"(?:^|(?<=[\s.;|]))[ \t>*•\-]*(?:\d[.)]\s*)?"
        rf"(?P<h>(?i:{words})|[{singles}])[ \t]*:"
        rf"|^[ \t]*(?P<line>(?i:{words}))[ \t]*$",
        re.MULTILINE,
    )
    by_header.update({letter: section for letter, section in letters.items()})
    return pattern, by_header


class SectionDetector:
    """Set ``doc._.sections`` to ``[(start_char, end_char, section), ...]``."""

    def __init__(self) -> None:
        self.pattern, self.sections = compile_headers(read_jsonl("sections.jsonl"))

    def __call__(self, doc: Doc) -> Doc:
        text = doc.text
        starts: list[tuple[int, str]] = []
        for match in self.pattern.finditer(text):
            header = match.group("h") or match.group("line")
            key = header if len(header) == 1 else header.lower()
            starts.append((match.start("h") if match.group("h") else match.start("line"), self.sections[key]))
        doc._.sections = [
            (start, starts[i + 1][0] if i + 1 < len(starts) else len(text), section)
            for i, (start, section) in enumerate(starts)
        ]
        return doc


def section_of(doc: Doc, start_char: int) -> str | None:
    """The section that contains a character offset, or None before any header."""
    sections = doc._.sections or []
    index = bisect.bisect_right([start for start, _, _ in sections], start_char) - 1
    return sections[index][2] if index >= 0 else None


def span_section(span: Span) -> str | None:
    return section_of(span.doc, span.start_char)


@Language.factory("notes_sections")
def make_sections(nlp: Language, name: str) -> SectionDetector:
    return SectionDetector()

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
from spacy.tokens import Doc

from notes_nlp.extraction import extensions  # noqa: F401  (declares doc._.sections)
from notes_nlp.extraction.resources import read_jsonl
from notes_nlp.extraction.text_index import note_text


OTHER = "Other"
_INDEX = ("notes_nlp", "sections")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def compile_headers(rules: Iterable[dict]) -> tuple[re.Pattern[str], dict[str, str]]:
    """One regex for all headers, and the map from a header (lower case) to its section.

    Three shapes: a known header word, optionally qualified, then a colon
    ("Plan:", "Goals per POC:", "LTG 6 wks:", "Dx (from PCP):"); a single SOAP
    letter right before a colon ("S:"); a known header alone on its line
    ("SUBJECTIVE", or dictated "GOALS."). Any other "Label:" that starts a line ends the section
    before it ("Areas worked:", "Time:"), so a *History* section does not run on.
    """
    by_header: dict[str, str] = {}
    for rule in rules:
        for header in rule["headers"]:
            by_header[header if len(header) == 1 else header.lower()] = rule["section"]
    words = word_trie(h for h in by_header if len(h) > 1)
    singles = "".join(sorted(h for h in by_header if len(h) == 1))
    pattern = re.compile(
        rf"(?:^|(?<=[\s.;|]))[ \t>*•\-]*(?:\d[.)]\s*)?"
        rf"(?:(?P<h>(?i:{words}))\b(?:[ \t]+[^:\n.;(]{{0,20}}?)?|(?P<letter>[{singles}]))[ \t]*(?:\([^)\n]{{0,40}}\))?[ \t]*:(?!\d)"
        rf"|^[ \t]*(?P<line>(?i:{words}))[ \t]*(?:\([^)\n]{{0,40}}\))?[ \t]*\.?[ \t]*$"
        rf"|^[ \t>*•\-]*(?P<other>[A-Z][A-Za-z/'\- ]{{1,30}}?)[ \t]*(?:\([^)\n]{{0,40}}\))?[ \t]*:(?!\d)"
        rf"|(?:^|(?<=[\s.]))(?P<spoken>(?i:{words}))[ \t]+(?i:colon)\b",
        re.MULTILINE,
    )
    return pattern, by_header


def word_trie(words: Iterable[str]) -> str:
    """The words as one regex alternation shaped as a trie ("a(?:/p|ssess(?:ment)?)"): at each
    place a header may start, ``re`` tries a score of first letters instead of a hundred words
    (the section regex took 0.46 ms a note, 0.2 ms so). Where one word is a prefix of another
    the longer is tried first, as in an alternation sorted longest first; words that part ways
    cannot both match, so the matches are the same."""
    root: dict[str, dict] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here
    return _branches(root)


def _branches(node: dict[str, dict]) -> str:
    alternatives = [re.escape(char) + _branches(child) for char, child in sorted(node.items()) if char]
    if not alternatives:
        return ""
    group = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
    return f"(?:{group})?" if "" in node else group


class SectionDetector:
    """Set ``doc._.sections`` to ``[(start_char, end_char, section), ...]``."""

    def __init__(self) -> None:
        self.pattern, self.sections = compile_headers(read_jsonl("sections.jsonl"))

    def __call__(self, doc: Doc) -> Doc:
        text = note_text(doc)
        starts: list[tuple[int, str]] = []
        in_block = False
        for match in self.pattern.finditer(text):
            group = next(name for name in ("h", "letter", "line", "other", "spoken") if match.group(name))
            header = match.group(group)
            if group == "other":
                if in_block:
                    continue  # "Techniques:" inside a "TREATMENT PLAN" block stays in the plan
                starts.append((match.start(group), OTHER))
                continue
            starts.append((match.start(group), self.sections[header if group == "letter" else header.lower()]))
            # A header alone on its line opens a block of labelled lines; an inline one ("OB hx: ...")
            # heads its paragraph only.
            line_end = text.find("\n", match.end())
            in_block = not text[match.end() : line_end if line_end >= 0 else len(text)].strip()
            paragraph_end = _BLANK_LINE.search(text, match.end())
            if not in_block and paragraph_end:
                starts.append((paragraph_end.end(), OTHER))
        starts.sort(key=lambda item: item[0])
        doc._.sections = [
            (start, starts[i + 1][0] if i + 1 < len(starts) else len(text), section)
            for i, (start, section) in enumerate(starts)
        ]
        return doc


def section_of(doc: Doc, start_char: int) -> str | None:
    """The section that contains a character offset, or None before any header."""
    starts, sections = _index(doc)
    index = bisect.bisect_right(starts, start_char) - 1
    return sections[index][2] if index >= 0 else None


def section_start(doc: Doc, offset: int) -> int:
    """Where the section that contains an offset starts (0 before any header)."""
    starts, _ = _index(doc)
    index = bisect.bisect_right(starts, offset) - 1
    return starts[index] if index >= 0 else 0


def next_section_start(doc: Doc, offset: int) -> int:
    """Where the first section after an offset starts (the text's end if none): a goal or
    progress statement stops there ("-- CHARGES:")."""
    starts, _ = _index(doc)
    index = bisect.bisect_right(starts, offset)
    return starts[index] if index < len(starts) else len(note_text(doc))


def _index(doc: Doc) -> tuple[list[int], list[tuple[int, int, str]]]:
    """The sections and their start offsets, read once per doc: components look sections up
    dozens of times per note, and ``doc._`` is slow to read. The detector sets the sections
    before any component reads them, and nothing changes them after."""
    found = doc.user_data.get(_INDEX)
    if found is None:
        sections = doc._.sections or []
        found = doc.user_data[_INDEX] = ([start for start, _, _ in sections], sections)
    return found


@Language.factory("notes_sections")
def make_sections(nlp: Language, name: str) -> SectionDetector:
    return SectionDetector()

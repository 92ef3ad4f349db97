"""Goal and progress statements: clauses, not words.

A goal ("pt will walk 1 mile without pain in 4 wks") or a progress report
("ROM improved from 40° to 55°") is a clause. It is found from a cue and
extended to the end of its clause or sentence; every sentence of a *Goals*
section that reads like a goal is one too, and so is every line of a list
that a goal lead-in introduces ("In 6 weeks the patient will:"). Plans of care
write a goal list's time frame once, in its lead-in ("STG (3 wks):"), and it
holds for every goal listed under it (:func:`lead_in`). Rules:
``resources/statements.jsonl``.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from spacy.language import Language
from spacy.tokens import Doc, Span

from notes_nlp.extraction.extensions import candidates
from notes_nlp.extraction.first_chars import compile_guarded
from notes_nlp.extraction.numbers import expand
from notes_nlp.extraction.resources import read_jsonl
from notes_nlp.extraction.sections import next_section_start, section_of
from notes_nlp.extraction.text_index import note_text, sentences

_CLAUSE_BREAK = re.compile(r"[,;]")
_LEADING_HEADER = re.compile(r"(?:[A-Z][A-Za-z/ ]{0,24}|[A-Z]):[ \t]+")
_TRIM = " \t\n\r-•*:.;,)_"
# How far above a goal its list's lead-in may stand, and how long a line of a list may be.
_LIST_MARKER = re.compile(r"[ \t]*(?:[-*•·◦▪>]|\(?\d{1,2}[.)]|\(?[a-zA-Z][.)]|#\d{1,2}[.:)]?)[ \t]+")
_ENUMERATOR = re.compile(r"(?:(?<=\s)|^)\(?\d{1,2}[.)][ \t]+", re.MULTILINE)
_LIST_LINES = 15
_LIST_LINE_CHARS = 160
_HEADING_SENTENCES = 6  # how many sentences above a goal its spoken heading may stand


@dataclass
class StatementRules:
    cues: dict[str, list[tuple[re.Pattern[str], str]]] = field(default_factory=dict)
    blocks: dict[str, list[re.Pattern[str]]] = field(default_factory=dict)
    sections: list[tuple[str, str, re.Pattern[str]]] = field(default_factory=list)
    lead_ins: dict[str, list[re.Pattern[str]]] = field(default_factory=dict)
    headings: dict[str, list[re.Pattern[str]]] = field(default_factory=dict)
    timeframe: re.Pattern[str] | None = None
    amount: re.Pattern[str] | None = None

    @classmethod
    def load(cls) -> "StatementRules":
        rules = cls()
        for record in read_jsonl("statements.jsonl"):
            label, kind = record["label"], record["kind"]
            if kind == "section":
                content = compile_guarded(record["content"], re.IGNORECASE)
                rules.sections.append((label, record["section"], content))
                continue
            pattern = compile_guarded(expand(record["regex"]), re.IGNORECASE)
            if kind == "cue":
                rules.cues.setdefault(label, []).append((pattern, record["extent"]))
            elif kind == "block":
                rules.blocks.setdefault(label, []).append(pattern)
            elif kind == "lead-in":
                rules.lead_ins.setdefault(label, []).append(pattern)
            elif kind == "heading":
                rules.headings.setdefault(label, []).append(pattern)
            elif kind in ("timeframe", "amount"):
                setattr(rules, kind, pattern)
            else:
                raise ValueError(f"statements.jsonl: unknown kind {kind!r} for {label}")
        return rules

    def is_measurable(self, text: str, lead: str = "") -> bool:
        """A goal is measurable when it states an amount and a time frame (docs/rubric.md); the
        time frame may stand in the lead-in of its list."""
        return bool(self.amount and self.amount.search(text) and self.timeframe and self.timeframe.search(f"{lead} {text}"))

    def is_lead_in(self, label: str, line: str) -> bool:
        return any(pattern.search(line) for pattern in self.lead_ins.get(label, []))

    def is_heading(self, label: str, words: str) -> bool:
        return any(pattern.search(words) for pattern in self.headings.get(label, []))

    def heading(self, label: str, doc: Doc, offset: int) -> str:
        """The sentence that heads the statement at ``offset`` when no line leads it in, or "":
        the nearest sentence before it, in its paragraph, that is a heading of this label
        ("Short term goals, to be met in three weeks. One, patient will sit 45 minutes...")."""
        text, found = note_text(doc), sentences(doc)
        index = next((i for i, sent in enumerate(found) if sent.start_char <= offset < sent.end_char), 0)
        for sent in reversed(found[max(0, index - _HEADING_SENTENCES) : index]):
            if "\n\n" in text[sent.end_char : offset]:
                return ""
            words = text[sent.start_char : sent.end_char].strip()
            if self.is_heading(label, words):
                return words
        return ""

    def lead_in(self, label: str, text: str, offset: int) -> str:
        """The lead-in of the list a statement at ``offset`` stands in, or "": the nearest line
        above it that ends with a colon and introduces statements of this label ("STG (3 wks):",
        "Goals to be met by discharge (8 visits):"), or is a heading alone on its line ("GOALS
        (4 weeks)"), reached over the list's other lines only (no blank line, no paragraph of
        prose between)."""
        end = text.rfind("\n", 0, offset)
        for _ in range(_LIST_LINES):
            if end < 0:
                return ""
            start = text.rfind("\n", 0, end) + 1
            line = text[start:end].strip()
            if not line or len(line) > _LIST_LINE_CHARS:
                return ""
            if line.endswith(":"):
                return line if self.is_lead_in(label, line) else ""
            if self.is_heading(label, line):
                return line  # a header alone on its line ("GOALS (4 weeks)")
            end = start - 1
        return ""


def sentence_bounds(doc: Doc) -> list[tuple[int, int]]:
    """Character ranges of the sentences, in order."""
    return [(sent.start_char, sent.end_char) for sent in sentences(doc)]


def _enclosing(bounds: list[tuple[int, int]], starts: list[int], offset: int) -> tuple[int, int]:
    index = max(bisect.bisect_right(starts, offset) - 1, 0)
    return bounds[index]


def _first_word(text: str, start: int, end: int) -> int:
    """Where a sentence's words begin, past a bullet ("- Goals: ...") that precedes its header."""
    while start < end - 1 and not text[start].isalnum():
        start += 1
    return start


def _items(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The items of a list written on one line from ``start``: numbered ones when a number
    opens it, else the parts between semicolons when there are two or more, else none."""
    marks = list(_ENUMERATOR.finditer(text, start, end))
    if marks and marks[0].start() == start:
        return [(mark.end(), following.start() if following else end) for mark, following in zip(marks, [*marks[1:], None])]
    parts = text[start:end].split(";")
    if len(parts) < 2:
        return []
    items, offset = [], start
    for part in parts:
        items.append((offset, offset + len(part)))
        offset += len(part) + 1
    return items


def _trimmed_span(doc: Doc, start: int, end: int, label: str) -> Span | None:
    text = note_text(doc)
    while start < end and text[start] in _TRIM:
        start += 1
    while end > start and text[end - 1] in _TRIM:
        end -= 1
    if end - start < 3:
        return None
    return doc.char_span(start, end, label=label, alignment_mode="expand")


class StatementFinder:
    """Add GOAL and PROGRESS candidates (:func:`~notes_nlp.extraction.extensions.candidates`)."""

    def __init__(self) -> None:
        self.rules = StatementRules.load()

    def __call__(self, doc: Doc) -> Doc:
        text = note_text(doc)
        bounds = sentence_bounds(doc)
        starts = [start for start, _ in bounds]
        found: list[Span] = []
        for label, section, content in self.rules.sections:
            for start, end in bounds:
                if section_of(doc, _first_word(text, start, end)) != section or not content.search(text, start, end):
                    continue
                start = self._skip_labels(label, text, start, end)
                if not self._blocked(label, text, start, end) and not self.rules.is_heading(label, text[start:end].strip()):
                    found.append(_trimmed_span(doc, start, end, label))
        found += self._listed(doc, text)
        found += self._enumerated(doc, text)
        for label, cues in self.rules.cues.items():
            for pattern, extent in cues:
                for match in pattern.finditer(text):
                    sent_start, sent_end = _enclosing(bounds, starts, match.start())
                    if extent == "after-cue" and not text[match.end() : sent_end].strip(_TRIM):
                        # the label ends its own sentence ("GOALS. In four weeks: one, turn his head ..."):
                        # the statement is the sentence after it, on the same line
                        following = _enclosing(bounds, starts, max(sent_end, match.end()))
                        if following[0] >= sent_end and "\n" not in text[match.start() : following[0]]:
                            sent_end = following[1]
                    sent_end = min(sent_end, next_section_start(doc, match.end()))
                    start, end = self._extent(text, match, extent, sent_start, sent_end)
                    if self._blocked(label, text, start, end) or not self._has_content(label, text, start, end):
                        continue
                    found.append(_trimmed_span(doc, start, end, label))
        candidates(doc).extend(span for span in found if span is not None)
        return doc

    def _listed(self, doc: Doc, text: str) -> list[Span | None]:
        """Every line of a list under a lead-in ("In 6 weeks the patient will:" then "- walk
        1 mile", "- stand 1 hr at work"), up to a blank line or the next line ending in a colon."""
        found: list[Span | None] = []
        for label in self.rules.lead_ins:
            for lead_end in self._lead_in_ends(label, text):
                start = lead_end + 1
                while start < len(text):
                    end = text.find("\n", start)
                    end = len(text) if end < 0 else end
                    line = text[start:end].strip()
                    if not line or line.endswith(":") or next_section_start(doc, start - 1) <= start + len(text[start:end]) - len(text[start:end].lstrip()):
                        break  # a blank line, another lead-in or a new section ends the list
                    marker = _LIST_MARKER.match(text, start, end)
                    first = self._skip_labels(label, text, marker.end() if marker else start, end)
                    if not self._blocked(label, text, first, end) and self._has_content(label, text, first, end):
                        found.append(_trimmed_span(doc, first, end, label))
                    start = end + 1
        return found

    def _enumerated(self, doc: Doc, text: str) -> list[Span | None]:
        """The items of a list written on its label's line: numbered ("Updated goals (next 4
        wks): 1. drive a full route ... 2. thoracic rotation 60 deg") or parted by semicolons
        ("POC goals (4 wks): volume down 150 mL; carry grandchild 20 min"): each item is one."""
        found: list[Span | None] = []
        for label, cues in self.rules.cues.items():
            for pattern, extent in cues:
                if extent != "after-cue":
                    continue
                for match in pattern.finditer(text):
                    line_end = text.find("\n", match.end())
                    line_end = len(text) if line_end < 0 else line_end
                    for start, end in _items(text, match.end(), line_end):
                        if not self._blocked(label, text, start, end) and self._has_content(label, text, start, end):
                            found.append(_trimmed_span(doc, start, end, label))
        return found

    def _lead_in_ends(self, label: str, text: str) -> list[int]:
        """Where the lines that lead in a list of this label end: a lead-in ending with a colon,
        a heading alone on its line, or a lead-in's label with words after it above a bulleted
        list."""
        ends = []
        start = 0
        while start < len(text):
            end = text.find("\n", start)
            end = len(text) if end < 0 else end
            line = text[start:end].strip()
            label_part = line[: line.find(":") + 1] if ":" in line else ""
            bulleted = bool(_LIST_MARKER.match(text, end + 1)) if end < len(text) else False
            if (
                (line.endswith(":") and self.rules.is_lead_in(label, line))
                or self.rules.is_heading(label, line)
                # a label with a word of its own then a list ("PLAN / GOALS: 2x/wk x 6 wks." then "- Grip ...")
                or (bulleted and label_part and self.rules.is_lead_in(label, label_part))
            ):
                ends.append(end)
            start = end + 1
        return ends

    def _blocked(self, label: str, text: str, start: int, end: int) -> bool:
        """A block rule (e.g. "no progress", "RTC 2 wks") vetoes the statement; ``^`` anchors at its start."""
        return any(block.search(text[start:end]) for block in self.rules.blocks.get(label, []))

    def _has_content(self, label: str, text: str, start: int, end: int) -> bool:
        """A statement after a label must say something a statement of its kind says."""
        contents = [content for lab, _, content in self.rules.sections if lab == label]
        return not contents or any(content.search(text, start, end) for content in contents)

    def _skip_labels(self, label: str, text: str, start: int, end: int) -> int:
        """Skip leading labels ("Goals:", "LTG 2:") so the span is the statement itself."""
        labels = [pattern for pattern, extent in self.rules.cues.get(label, []) if extent == "after-cue"]
        moved = True
        while moved:
            moved = False
            while start < end and text[start] in _TRIM:
                start += 1
            for pattern in labels:
                match = pattern.match(text, start, end)
                if match and match.end() > start:
                    start, moved = match.end(), True
        return start

    @staticmethod
    def _extent(text: str, match: re.Match[str], extent: str, sent_start: int, sent_end: int) -> tuple[int, int]:
        if extent == "after-cue":
            return match.end(), sent_end
        if extent == "from-cue":
            return match.start(), sent_end
        before = [m.end() for m in _CLAUSE_BREAK.finditer(text, sent_start, match.start())]
        after = _CLAUSE_BREAK.search(text, match.end(), sent_end)
        start = before[-1] if before else sent_start
        header = _LEADING_HEADER.match(text, start, match.start())
        return (header.end() if header else start), (after.start() if after else sent_end)


@Language.factory("notes_statements")
def make_statements(nlp: Language, name: str) -> StatementFinder:
    return StatementFinder()

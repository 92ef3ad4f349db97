"""Word sense: is "mobilization" here a therapy technique, or the surgeon's, the nurse's?

Operative, obstetric, cardiology, imaging and medical notes use many technique
words in senses of their own: "splenic flexure mobilization", "mobilized out of
bed", "manipulation under anesthesia", "dull to percussion", "chest
compressions", "4 METs", "liver mets". A technique word that is ambiguous on its
own (``resources/senses.json``) counts as a technique only where its sentence
shows therapy work (a body region, minutes, a purpose, a grade, or another
technique or therapy service that is not ambiguous itself), never with a cue of
another sense close by, and never in a note that states the other sense
elsewhere ("compressions" in a note of CPR). Words that name a technique on their
own ("myofascial release", "effleurage", "STM") need none of this, except in a
report of another kind (operative, imaging, delivery), where no technique is
performed at all.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Iterable

from spacy.tokens import Doc, Span

from notes_nlp.extraction.text_index import note_text, sentence_of

# The labels whose mentions are judged, and those that show a sentence is about therapy.
JUDGED = ("MASSAGE_TECHNIQUE", "MANUAL_TECHNIQUE", "CMT", "SERVICE")
SUPPORT = ("BODY_REGION", "TIME", "INTENT_FUNCTIONAL", "INTENT_RELAXATION", *JUDGED)
_CHECKED = re.compile(r"\[\s?[xX✓✔]\s?\][ \t]*$|[☑☒✓✔][ \t]*$")
_TEMPLATE_ROW_WORDS = 6
_DENIED = re.compile(r"\b(?:no|not|without|nil|denies)\s+$", re.IGNORECASE)
_BLOCK_LINES = 2  # a flowsheet field leans on this many fields either side
_FIELD = re.compile(r"[ \t]*[A-Za-z][\w ()/&'.-]{0,30}:[ \t]")
_GRADE = re.compile(r"\b(?:gr(?:ade)?s?\.?\s*(?:[IVX]{1,3}|[1-5])(?![\w/]))", re.IGNORECASE)


def _alternation(patterns: list[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + ")", re.IGNORECASE)


def _fields(text: str, row_start: int) -> tuple[int, int]:
    """The span of the labelled lines ("Region: L ankle") next to a labelled line, up to a line
    of another kind."""
    start, end = row_start, text.find("\n", row_start)
    end = len(text) if end < 0 else end
    for _ in range(_BLOCK_LINES):
        previous = text.rfind("\n", 0, max(start - 1, 0)) + 1
        if previous >= start or not _FIELD.match(text, previous, start):
            break
        start = previous
    for _ in range(_BLOCK_LINES):
        following = text.find("\n", end + 1)
        following = len(text) if following < 0 else following
        if end + 1 >= len(text) or not _FIELD.match(text, end + 1, following):
            break
        end = following
    return start, end


class SenseRules:
    def __init__(self) -> None:
        data = json.loads(resources.files("notes_nlp.extraction.resources").joinpath("senses.json").read_text("utf-8"))
        self.window = int(data["window"])
        self.support_window = int(data["support_window"])
        self.ambiguous = frozenset(data["ambiguous"])
        self.other_senses = _alternation(data["other_senses"])
        self.document_senses = {word: _alternation(cues) for word, cues in data["document_senses"].items()}
        self.near_senses = {word: _alternation(cues) for word, cues in data["near_senses"].items()}
        self.other_documents = [re.compile(header, re.IGNORECASE) for header in data["other_documents"]]
        self.other_document_headers = int(data["other_document_headers"])

    def is_ambiguous(self, span: Span) -> bool:
        return span.label_ in JUDGED and " ".join(span.text.lower().split()) in self.ambiguous

    def is_other_document(self, text: str) -> bool:
        """An operative, procedure, imaging or delivery report: no therapy is performed in one."""
        return sum(bool(header.search(text)) for header in self.other_documents) >= self.other_document_headers

    def in_sense(self, spans: Iterable[Span], doc: Doc) -> list[Span]:
        """The mentions, without the ambiguous ones whose sentence or note is not about therapy
        work, and without any technique at all in a report of another kind."""
        spans = list(spans)
        text = note_text(doc)
        if any(span.label_ in JUDGED for span in spans) and self.is_other_document(text):
            return [span for span in spans if span.label_ not in JUDGED]
        by_sentence: dict[int, list[Span]] = {}
        for span in spans:
            by_sentence.setdefault(sentence_of(doc, span.start).start, []).append(span)
        other_sense: dict[str, bool] = {}
        return [
            span for span in spans
            if not self.is_ambiguous(span)
            or (not self._other_sense_in_note(span, text, other_sense) and self._therapy(span, by_sentence[sentence_of(doc, span.start).start], spans))
        ]

    def _other_sense_in_note(self, span: Span, text: str, seen: dict[str, bool]) -> bool:
        word = " ".join(span.text.lower().split())
        if word not in seen:
            cues = self.document_senses.get(word)
            seen[word] = bool(cues and cues.search(text))
        return seen[word]

    def _therapy(self, span: Span, sentence: list[Span], all_spans: list[Span]) -> bool:
        doc, bounds = span.doc, sentence_of(span.doc, span.start)
        start = doc[max(bounds.start, span.start - self.window)].idx
        last = doc[min(bounds.end, span.end + self.window) - 1]
        text = note_text(doc)
        near = self.near_senses.get(" ".join(span.text.lower().split()))
        if near and _DENIED.search(text, max(0, span.start_char - 12), span.start_char):
            near = None  # "No trigger points palpated": a denied finding, kept as a negated mention
        line_start = text.rfind("\n", 0, span.start_char) + 1
        window_end = last.idx + len(last)
        if self.other_senses.search(text, start, window_end) or (
            near and (near.search(text, line_start, span.start_char) or near.search(text, span.end_char, window_end))
        ):
            return False
        if _CHECKED.search(text, max(0, span.start_char - 6), span.start_char):
            return True  # "[x] MET" in a template: a box ticked for work done
        row_start = text.rfind("\n", 0, span.start_char) + 1
        if _FIELD.match(text, row_start, span.start_char) and len([t for t in doc[bounds.start : bounds.end] if t.is_alpha]) <= _TEMPLATE_ROW_WORDS:
            # a short field of a flowsheet ("Technique: A-P glides") leans on the fields around it
            start_char, end_char = _fields(text, row_start)
            sentence = [s for s in all_spans if start_char <= s.start_char < end_char]
        near = range(span.start - self.support_window, span.end + self.support_window)
        supported = any(
            other.label_ in SUPPORT and other is not span and not (other.label_ in JUDGED and self.is_ambiguous(other))
            and (other.start in near or other.end - 1 in near)
            for other in sentence
        )
        return supported or bool(_GRADE.search(text, bounds.start_char, bounds.end_char))

"""Minutes in tables: charge grids and minute lines.

EHRs print each procedure's minutes in a column ("CPT | Description | Min |
Units", or fixed-width "PROCEDURE   START  STOP   MIN  CPT") or on a labelled
line ("Minutes: Massage 10 | TrP release 20 | Total 30"). A bare number there
is minutes only by its column or by its line's label, so this component reads
the layout and adds a TIME candidate for each such number; the attribute
parser then anchors it to the service or code of its row, as it anchors any
minutes phrase. The header and label words are data (``resources/grids.json``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Iterator

from spacy.language import Language
from spacy.tokens import Doc, Span

from notes_nlp.extraction.extensions import candidates
from notes_nlp.extraction.text_index import note_text

_PIPE_OR_TAB = re.compile(r"[|\t]")
_WIDE_GAP = re.compile(r"\S(?:[^\s]| (?! ))*")  # a fixed-width cell: words joined by single spaces
_MINUTES_CELL = re.compile(r"(\d{1,3})(?:\s*(?:min|mins|minutes|'))?\.?", re.IGNORECASE)
_BARE_NUMBER = re.compile(r"(?<![\w.:/#-])\d{1,3}(?![\w.:/%°'-])")
ALIGN_SLACK = 3  # a fixed-width cell may sit this many characters off its header


@dataclass(frozen=True)
class Cell:
    start: int  # offsets into the note's text
    end: int
    text: str


def _load() -> dict:
    return json.loads(resources.files("notes_nlp.extraction.resources").joinpath("grids.json").read_text("utf-8"))


def cells(text: str, start: int, end: int, delimited: bool) -> list[Cell]:
    """The cells of one line: split at pipes and tabs, or at runs of two or more spaces."""
    line = text[start:end]
    if delimited:
        found, offset = [], 0
        for part in _PIPE_OR_TAB.split(line):
            stripped = part.strip()
            left = offset + len(part) - len(part.lstrip())
            found.append(Cell(start + left, start + left + len(stripped), stripped))
            offset += len(part) + 1
        return found
    return [Cell(start + m.start(), start + m.end(), m.group()) for m in _WIDE_GAP.finditer(line)]


def lines(text: str) -> Iterator[tuple[int, int]]:
    start = 0
    while start <= len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        yield start, end
        start = end + 1


class GridMinutes:
    """Add TIME candidates for the minutes of grid rows and minute lines."""

    def __init__(self) -> None:
        data = _load()
        self.minutes_header = re.compile(rf"^(?:{'|'.join(data['minutes_headers'])})\.?$", re.IGNORECASE)
        self.row_header = re.compile(rf"^(?:{'|'.join(data['row_headers'])})\b", re.IGNORECASE)
        self.minute_line = re.compile(rf"^[ \t>*•\-]*(?:{'|'.join(data['minute_line_labels'])})[ \t]*:", re.IGNORECASE | re.MULTILINE)

    def __call__(self, doc: Doc) -> Doc:
        text = note_text(doc)
        found = [*self._grid_minutes(text), *self._line_minutes(text)]
        spans = (doc.char_span(start, end, label="TIME", span_id="grid minutes", alignment_mode="expand") for start, end in found)
        candidates(doc).extend(span for span in spans if span is not None and len(span))
        return doc

    def _header(self, text: str, start: int, end: int) -> tuple[bool, Cell] | None:
        """The minutes column of a header line, or None when the line is no grid header."""
        delimited = bool(_PIPE_OR_TAB.search(text, start, end))
        row = cells(text, start, end, delimited)
        minutes = [c for c in row if self.minutes_header.match(c.text)]
        if len(row) < 3 or len(minutes) != 1 or not any(self.row_header.match(c.text) for c in row):
            return None
        return delimited, minutes[0]

    def _grid_minutes(self, text: str) -> Iterator[tuple[int, int]]:
        header: tuple[bool, Cell, int] | None = None  # delimited, the minutes header cell, its line start
        for start, end in lines(text):
            if not text[start:end].strip():
                header = None
                continue
            found = self._header(text, start, end)
            if found:
                header = (*found, start)
                continue
            if header:
                cell = self._minutes_cell(text, start, end, header)
                if cell:
                    match = _MINUTES_CELL.fullmatch(cell.text)
                    if match:
                        yield cell.start + match.start(1), cell.start + match.end(1)

    @staticmethod
    def _minutes_cell(text: str, start: int, end: int, header: tuple[bool, Cell, int]) -> Cell | None:
        delimited, column, header_start = header
        row = cells(text, start, end, delimited)
        if delimited:
            # the column's position among the header's cells
            index = len(cells(text, header_start, column.start, True)) - 1
            return row[index] if index < len(row) else None
        left, right = column.start - header_start - ALIGN_SLACK, column.end - header_start + ALIGN_SLACK
        return next((c for c in row if left <= c.start - start and c.end - start <= right), None)

    def _line_minutes(self, text: str) -> Iterator[tuple[int, int]]:
        """"Minutes: Massage 10 | TrP release 20 | Total 30": every bare number of the line."""
        for match in self.minute_line.finditer(text):
            end = text.find("\n", match.end())
            end = len(text) if end < 0 else end
            for number in _BARE_NUMBER.finditer(text, match.end(), end):
                yield number.span()


@Language.factory("notes_grids")
def make_grids(nlp: Language, name: str) -> GridMinutes:
    return GridMinutes()

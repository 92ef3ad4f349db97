"""Read note records one at a time, turning every bad record into an error.

A batch never dies on one bad note: a line that is not UTF-8, not JSON, not
an object, or has no text becomes an ``InputRecord`` with an ``error`` that
says what is wrong and where. Note text is never logged.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterator

MAX_TEXT_CHARS = 200_000
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class InputRecord:
    line: int
    record: dict[str, Any] | None
    error: str | None = None

    @property
    def note_id(self) -> str | None:
        note_id = (self.record or {}).get("note_id")
        return str(note_id) if note_id is not None else None


def parse_billed(text: str) -> list[dict[str, Any]]:
    """"97140-59x2;98941" → [{"code": "97140", "modifiers": ["59"], "units": 2}, {"code": "98941"}]."""
    lines = []
    for item in filter(None, (part.strip() for part in text.split(";"))):
        head, _, units = item.lower().partition("x")
        code, *modifiers = [part.strip().upper() for part in head.split("-")]
        line: dict[str, Any] = {"code": code}
        if modifiers:
            line["modifiers"] = modifiers
        if units:
            line["units"] = int(units)
        lines.append(line)
    return lines


def unpaired_surrogate(value: Any) -> str | None:
    """The first unpaired surrogate in a parsed record's strings (keys too), or None. A JSON
    ``\\u`` escape can write one ("\\udaf2"), but no UTF-8 text holds it: spaCy, the spool
    and the output writers cannot encode it."""
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        return found.group() if found else None
    items = [*value, *value.values()] if isinstance(value, dict) else value if isinstance(value, list) else []
    return next(filter(None, map(unpaired_surrogate, items)), None)


def check_record(record: Any, max_chars: int = MAX_TEXT_CHARS) -> str | None:
    """What is wrong with a parsed record, or None."""
    if not isinstance(record, dict):
        return f"expected a JSON object, got {type(record).__name__}"
    if surrogate := unpaired_surrogate(record):
        return f"not valid Unicode: an unpaired surrogate \\u{ord(surrogate):04x} (a lone \\u escape)"
    if record.get("note_id") in (None, ""):
        return "missing note_id"
    text = record.get("text")
    if not isinstance(text, str):
        return "missing text" if text is None else f"text must be a string, got {type(text).__name__}"
    if not text.strip():
        return "empty text"
    if len(text) > max_chars:
        return f"text has {len(text)} characters, over the limit of {max_chars}"
    chart = record.get("chart_id")
    if chart is not None and (isinstance(chart, bool) or not isinstance(chart, (str, int))):
        return f"chart_id must be a string or a number, got {type(chart).__name__}"
    payer = record.get("payer")
    if payer is not None and not isinstance(payer, str):
        return f"payer must be a string (a payer profile's name), got {type(payer).__name__}"
    return None


def chart_key(record: dict[str, Any]) -> str | None:
    """The chart a checked record belongs to, or None for a lone note. The one reading of
    ``chart_id`` everywhere (judging and batch chunking): 17 and "17" are one chart."""
    chart = record.get("chart_id")
    return None if chart is None or chart == "" else str(chart)


def _open_binary(path: str | Path) -> IO[bytes]:
    return sys.stdin.buffer if str(path) == "-" else open(path, "rb")


def read_jsonl(stream: IO[bytes], max_chars: int = MAX_TEXT_CHARS) -> Iterator[InputRecord]:
    for line_no, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield InputRecord(line_no, None, f"line {line_no}: not UTF-8 (byte {exc.start})")
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            yield InputRecord(line_no, None, f"line {line_no}: invalid JSON ({exc.msg} at column {exc.colno})")
            continue
        error = check_record(record, max_chars)
        readable = isinstance(record, dict) and not unpaired_surrogate(record)  # else it cannot be spooled or echoed
        yield InputRecord(line_no, record if readable else None, f"line {line_no}: {error}" if error else None)


def read_csv(stream: IO[bytes], max_chars: int = MAX_TEXT_CHARS) -> Iterator[InputRecord]:
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
    reader = csv.DictReader(text)
    ended = 1  # the header
    for row in reader:
        line_no, ended = ended + 1, reader.line_num  # a quoted field may span lines: say where the record starts
        record: dict[str, Any] = {key: value for key, value in row.items() if key and value not in (None, "")}
        error = None
        if "\ufffd" in record.get("text", ""):
            error = "text is not UTF-8"
        elif "billed" in record:
            try:
                record["billed"] = parse_billed(record["billed"])
            except ValueError:
                error = f"billed: cannot read {record['billed']!r}; write lines like 97140-59x2;98941"
        error = error or check_record(record, max_chars)
        yield InputRecord(line_no, record, f"line {line_no}: {error}" if error else None)


def read_records(path: str | Path, max_chars: int = MAX_TEXT_CHARS) -> Iterator[InputRecord]:
    """Records of a JSONL or CSV file (by extension; ``-`` is JSONL on stdin)."""
    stream = _open_binary(path)
    try:
        reader = read_csv if str(path).lower().endswith(".csv") else read_jsonl
        yield from reader(stream, max_chars)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()

"""Read note records one at a time, turning every bad record into an error.

A batch never dies on one bad note: a line that is not UTF-8, not JSON, not
an object, or a record with no text, a field of the wrong type, a number no
float holds or an impossible date becomes an ``InputRecord`` with an
``error`` that says what is wrong, in which field and on which line. Note text
is never logged.

Files are JSONL or CSV, in UTF-8 (with or without the byte-order mark Excel
writes for "CSV UTF-8") or UTF-16 (with its byte-order mark, or recognised by
its zero bytes). A CSV is comma-, semicolon- or tab-separated, whichever gives
its header the note_id and text columns; a row that does not parse (an
unbalanced quote) or has more or fewer fields than the header is that row's
error, with the lines it spans.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterator

from notes_nlp.io.billed import parse_billed
from notes_nlp.io.dates import parse_date
from notes_nlp.io.values import json_kind, loads, unpaired_surrogate, value_problem

MAX_TEXT_CHARS = 200_000
MAX_ID_CHARS = 200
MAX_CREDENTIAL_CHARS = 20
VISIBLE = r"[^\s\x00-\x1f\x7f-\x9f]"
"""A character a text must hold at least one of: not a blank, not a control character (NUL)."""
_VISIBLE = re.compile(VISIBLE)
_UTF8 = ("utf-8", "utf-8-sig")
_JSON_BLANKS = " \t\r\n"
_DELIMITERS = ",;\t"
_REQUIRED_COLUMNS = ("note_id", "text")


@dataclass(frozen=True)
class InputRecord:
    line: int
    record: dict[str, Any] | None
    error: str | None = None

    @property
    def note_id(self) -> str | None:
        return note_id_of(self.record)


class LineTooLong(Exception):
    """A line longer than any record may be: skipped to its end rather than held in memory."""

    def __init__(self, line: int, limit: int, unit: str) -> None:
        super().__init__(f"line {line}: longer than {limit:,} {unit}, more than a record of the --max-chars limit can take")


def note_id_of(record: Any) -> str | None:
    """The record's note_id as output: a string, or an integer written as one; None when it has
    none, or one of another type, or one no output could encode (an unpaired surrogate)."""
    note_id = record.get("note_id") if isinstance(record, dict) else None
    if isinstance(note_id, bool) or not isinstance(note_id, (str, int)) or value_problem(note_id):
        return None
    text = str(note_id)
    return None if len(text) > MAX_ID_CHARS else text


def check_record(record: Any, max_chars: int = MAX_TEXT_CHARS) -> str | None:
    """What is wrong with a parsed record, naming the field, or None."""
    if not isinstance(record, dict):
        return f"expected a JSON object, got {json_kind(record)}"
    return value_problem(record) or _note_id(record) or _text(record, max_chars) or _other_fields(record)


def _note_id(record: dict[str, Any]) -> str | None:
    if record.get("note_id") in (None, ""):
        return "missing note_id"
    return _identifier(record, "note_id")


def _identifier(record: dict[str, Any], field: str) -> str | None:
    """note_id and chart_id: a string or an integer, as docs/formats.md has it; a list or an
    object would otherwise be output as its Python repr."""
    value = record[field]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return f"{field} must be a string or a whole number, got {json_kind(value)}"
    if len(str(value)) > MAX_ID_CHARS:
        return f"{field} has {len(str(value)):,} characters, over the limit of {MAX_ID_CHARS}"
    return None


def _text(record: dict[str, Any], max_chars: int) -> str | None:
    text = record.get("text")
    if not isinstance(text, str):
        return "missing text" if text is None else f"text must be a string, got {json_kind(text)}"
    if not text.strip():
        return "empty text"
    if len(text) > max_chars:
        return f"text has {len(text):,} characters, over the limit of {max_chars:,}"
    if not _VISIBLE.search(text):
        return "text has only blanks and control characters (NUL, for one): nothing to read"
    return None


def _other_fields(record: dict[str, Any]) -> str | None:
    if record.get("chart_id") not in (None, "") and (problem := _identifier(record, "chart_id")):
        return problem
    try:
        parse_date(record.get("date"))
    except ValueError as exc:
        return str(exc)
    credential = record.get("provider_credential")
    if credential is not None and (not isinstance(credential, str) or len(credential) > MAX_CREDENTIAL_CHARS):
        return f"provider_credential must be a credential such as DC or PT (a string of at most {MAX_CREDENTIAL_CHARS} characters), got {_kind(credential)}"
    payer = record.get("payer")
    if payer is not None and not isinstance(payer, str):
        return f"payer must be a string (a payer profile's name), got {json_kind(payer)}"
    return None


def _kind(value: Any) -> str:
    return f"{len(value):,} characters" if isinstance(value, str) else json_kind(value)


def chart_key(record: dict[str, Any]) -> str | None:
    """The chart a checked record belongs to, or None for a lone note. The one reading of
    ``chart_id`` everywhere (judging and batch chunking): 17 and "17" are one chart."""
    chart = record.get("chart_id")
    return None if chart is None or chart == "" else str(chart)


def sniff_encoding(stream: IO[bytes]) -> str:
    """The file's encoding, from its first bytes, without consuming them."""
    return encoding_of(stream.peek(4)[:4] if hasattr(stream, "peek") else b"")


def encoding_of(head: bytes) -> str:
    """The encoding a text's first bytes show: a UTF-8 or UTF-16 byte-order mark, or the zero
    bytes of UTF-16 text that has none; else UTF-8."""
    head = head[:4]
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(head) == 4 and head[1] == head[3] == 0 and _printable(head[0], head[2]):
        return "utf-16-le"
    if len(head) == 4 and head[0] == head[2] == 0 and _printable(head[1], head[3]):
        return "utf-16-be"
    return "utf-8"


def _printable(*codes: int) -> bool:
    """ASCII a file starts with (`{"`, a header's letters), as UTF-16 writes it with zero bytes."""
    return all(0x20 <= code < 0x7F for code in codes)


def _buffered(stream: IO[bytes]) -> IO[bytes]:
    return stream if hasattr(stream, "peek") else io.BufferedReader(stream)  # type: ignore[arg-type]


def read_jsonl(stream: IO[bytes], max_chars: int = MAX_TEXT_CHARS) -> Iterator[InputRecord]:
    stream = _buffered(stream)
    encoding = sniff_encoding(stream)
    limit = 6 * max_chars + (1 << 20)  # a character escaped as \uXXXX takes 6 bytes
    lines = _utf8_lines(stream, limit) if encoding in _UTF8 else _decoded_lines(stream, encoding, limit)
    for line_no, line in lines:
        if isinstance(line, Exception):
            yield InputRecord(line_no, None, str(line))
        elif line.strip(_JSON_BLANKS):  # a line of other blanks (a form feed, \x1c) is an error, not nothing
            yield _json_record(line_no, line, max_chars)


def _utf8_lines(stream: IO[bytes], limit: int) -> Iterator[tuple[int, str | Exception]]:
    """Each line, decoded, or the error that says why it cannot be (not UTF-8, too long)."""
    for line_no, raw in enumerate(iter(lambda: stream.readline(limit), b""), start=1):
        if line_no == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        if len(raw) == limit and not raw.endswith(b"\n"):
            _skip_line(stream, limit, b"\n")
            yield line_no, LineTooLong(line_no, limit, "bytes")
            continue
        try:
            yield line_no, raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield line_no, ValueError(f"line {line_no}: not UTF-8 (byte {exc.start})")


def _decoded_lines(stream: IO[bytes], encoding: str, limit: int) -> Iterator[tuple[int, str | Exception]]:
    text = io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline="")
    try:
        for line_no, line in enumerate(iter(lambda: text.readline(limit), ""), start=1):
            if len(line) == limit and not line.endswith(("\n", "\r")):
                _skip_line(text, limit, "\n")
                yield line_no, LineTooLong(line_no, limit, "characters")
            else:
                yield line_no, line
    finally:
        text.detach()  # the caller closes the stream (or leaves stdin open)


def _skip_line(stream: Any, limit: int, newline: Any) -> None:
    while (rest := stream.readline(limit)) and not rest.endswith(newline):
        pass


def _json_record(line_no: int, line: str, max_chars: int) -> InputRecord:
    try:
        record = loads(line)
    except ValueError as exc:  # JSONDecodeError
        detail = f"{exc.msg} at column {exc.colno}" if hasattr(exc, "colno") else str(exc)
        return InputRecord(line_no, None, f"line {line_no}: invalid JSON ({detail})")
    return _checked(line_no, record, max_chars)


def _checked(line_no: int, record: Any, max_chars: int, error: str | None = None) -> InputRecord:
    """The record if it is valid; else its error (``error``, or what :func:`check_record` finds),
    keeping of the record only its note_id, for the output: the rest may not even be writable
    (too deep, not valid Unicode)."""
    error = error or check_record(record, max_chars)
    if error is None:
        return InputRecord(line_no, record)
    note_id = note_id_of(record)
    return InputRecord(line_no, None if note_id is None else {"note_id": note_id}, f"line {line_no}: {error}")


class _Lines:
    """A CSV text's physical lines for ``csv.reader``: counted, so that each record says on which
    lines it lies, with the quotes of the record being read (a record's lines hold an even
    number: an odd one is a quoted field still open), and bounded: a line over ``limit``
    characters is skipped to its end (with LineTooLong, which the reader passes on) rather
    than held in memory."""

    def __init__(self, text: IO[str], limit: int) -> None:
        self.text, self.limit, self.number, self.quotes = text, limit, 0, 0

    def skip_open_field(self) -> None:
        """After a field cut at the size limit: the lines up to where its quoted field closes
        belong to its record, not to the records after it. (After a stray quote the count says
        nothing: reading goes on at the next line, as ``csv`` does.)"""
        try:
            while self.quotes % 2:
                next(self)
        except (StopIteration, LineTooLong):
            pass

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        line = self.text.readline(self.limit)
        if not line:
            raise StopIteration
        self.number += 1
        if len(line) == self.limit and not line.endswith(("\n", "\r")):
            _skip_line(self.text, self.limit, "\n")
            raise LineTooLong(self.number, self.limit, "characters")
        self.quotes += line.count('"')
        return line


def read_csv(stream: IO[bytes], max_chars: int = MAX_TEXT_CHARS) -> Iterator[InputRecord]:
    stream = _buffered(stream)
    encoding = sniff_encoding(stream)
    text = io.TextIOWrapper(stream, encoding=encoding, errors="surrogateescape" if encoding in _UTF8 else "replace", newline="")
    try:
        lines = _Lines(text, 2 * max_chars + (1 << 20))  # a quote inside a quoted field is written twice
        yield from _csv_records(lines, encoding, max_chars)
    finally:
        text.detach()


def _csv_records(lines: _Lines, encoding: str, max_chars: int) -> Iterator[InputRecord]:
    try:
        first = next(lines)
    except StopIteration:
        return
    except LineTooLong as exc:
        yield InputRecord(1, None, f"{exc} (the header)")
        return
    delimiter, header = _header(first)
    missing = [name for name in _REQUIRED_COLUMNS if name not in header]
    csv.field_size_limit(max(max_chars, MAX_TEXT_CHARS) + 1)  # a longer field is that record's error
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    done = lines.number
    while True:
        start, lines.quotes = done + 1, 0
        try:
            row = next(reader)
        except StopIteration:
            return
        except (csv.Error, LineTooLong) as exc:
            if _too_long(exc):
                lines.skip_open_field()  # a field cut at the limit, not a stray quote: its lines are its record's
            yield InputRecord(start, None, _unreadable(exc, start, lines.number, max_chars))
            done = lines.number
            continue
        done = lines.number
        if not any(field.strip() for field in row):
            continue  # a blank line, or a row of empty cells as spreadsheets write them
        if missing:
            error = f"the header has no {' or '.join(missing)} column (its columns: {', '.join(header)[:200]}); a CSV needs note_id and text, separated by commas, semicolons or tabs"
        elif len(row) != len(header):
            error = f"the row has {len(row)} fields and the header {len(header)} (a delimiter in an unquoted field, or an unbalanced quote)"
        else:
            yield _csv_record(start, dict(zip(header, row)), encoding, max_chars)
            continue
        yield InputRecord(start, None, f"line {start}: {error}")


def _header(line: str) -> tuple[str, list[str]]:
    """The delimiter that gives the header note_id and text (else the one giving most columns),
    and the header's column names."""
    candidates = [(d, [name.strip() for name in next(csv.reader([line], delimiter=d))]) for d in _DELIMITERS]
    for delimiter, names in candidates:
        if all(name in names for name in _REQUIRED_COLUMNS):
            return delimiter, names
    return max(candidates, key=lambda candidate: len(candidate[1]))


def _too_long(exc: Exception) -> bool:
    return isinstance(exc, csv.Error) and "field larger than field limit" in str(exc)


def _unreadable(exc: Exception, start: int, end: int, max_chars: int) -> str:
    if isinstance(exc, LineTooLong):
        return str(exc)
    where = f"line {start}" if start == end else f"lines {start}-{end}"
    if _too_long(exc):
        return f"line {start}: a field over {max(max_chars, MAX_TEXT_CHARS):,} characters, on {where} (the text is limited by --max-chars)"
    return (f"line {start}: cannot read the CSV record on {where} ({exc}): an unbalanced quote? A field that holds "
            'a quote must be quoted, each quote inside written twice ("")')


def _csv_record(line_no: int, row: dict[str, str], encoding: str, max_chars: int) -> InputRecord:
    record: dict[str, Any] = {key: value for key, value in row.items() if key and value != ""}
    error = _undecodable(record, encoding)
    if error is None and "billed" in record:
        try:
            record["billed"] = parse_billed(record["billed"])
        except ValueError as exc:
            error = f"billed: {exc}"
    return _checked(line_no, record, max_chars, error)


def _undecodable(record: dict[str, Any], encoding: str) -> str | None:
    """A field holding a byte that is not UTF-8 (read as a lone surrogate by ``surrogateescape``)."""
    for key, value in record.items():
        if surrogate := unpaired_surrogate(value):
            return f"{key}: not {encoding.removesuffix('-sig').upper()} text (byte 0x{ord(surrogate) - 0xDC00:02x}); save the file as UTF-8"
    return None


def _open_binary(path: str | Path) -> IO[bytes]:
    return sys.stdin.buffer if str(path) == "-" else open(path, "rb")


def read_records(path: str | Path, max_chars: int = MAX_TEXT_CHARS) -> Iterator[InputRecord]:
    """Records of a JSONL or CSV file (by extension; ``-`` is JSONL on stdin)."""
    stream = _open_binary(path)
    try:
        reader = read_csv if str(path).lower().endswith(".csv") else read_jsonl
        yield from reader(stream, max_chars)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()

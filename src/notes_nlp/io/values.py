"""JSON values as a hostile file or request may hold them, read and checked without an exception.

Python's json module reads 1e400 as inf, accepts NaN and Infinity (which JSON
does not have), refuses an integer of more than 4,300 digits with a ValueError
and nesting deeper than the interpreter's stack with a RecursionError: one such
value, anywhere in a line, used to stop the whole batch. :func:`loads` keeps
each number no float or int can hold as an :class:`OutOfRange`, and turns too
deep a nesting into a JSONDecodeError like any other invalid JSON.
:func:`value_problem` then finds, in a parsed record, the first value the
pipeline cannot take (such a number, an unpaired surrogate, nesting past
:data:`MAX_DEPTH`) and names the field it is in.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32
"""Levels of objects and arrays a record may nest (a note record needs 3). Deeper
records are refused before anything walks them recursively (json.dumps, pickle)."""
MAX_INT_BITS = 14_284
"""An int longer than this may have more than 4,300 digits, the most Python writes as text
(``sys.get_int_max_str_digits``)."""
_SURROGATE = re.compile("[\ud800-\udfff]")
_SHOWN = 24


class OutOfRange:
    """A JSON number that no float or int holds (1e400, NaN, Infinity, 5,000 digits), kept as
    its text so that the record's check can say which field it is in."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text if len(text) <= _SHOWN else f"{text[:_SHOWN]}… ({len(text)} characters)"

    def __repr__(self) -> str:
        return self.text


def loads(document: str | bytes) -> Any:
    """``json.loads`` that never raises but JSONDecodeError (and UnicodeDecodeError for bytes
    that are not UTF-8/16/32): out-of-range numbers become :class:`OutOfRange`."""
    try:
        return json.loads(document, parse_int=_integer, parse_float=_float, parse_constant=OutOfRange)
    except RecursionError:
        field = _deep_field(document.decode("utf-8", "replace") if isinstance(document, bytes) else document)
        raise json.JSONDecodeError(f"{field + ': ' if field else ''}nested deeper than the parser can follow", "", 0) from None


def _deep_field(document: str) -> str | None:
    """The top-level key under which a document nests past :data:`MAX_DEPTH`: a light scan of
    strings and brackets, run only once the parser has given up, to name the field."""
    depth, key, last, start, in_string, escaped = 0, None, None, 0, False, False
    for position, char in enumerate(document):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string, last = False, document[start:position]
        elif char == '"':
            in_string, start = True, position + 1
        elif char == ":" and depth == 1:
            key = last
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return None if key is None else _clipped(key)
        elif char in "]}":
            depth -= 1
    return None


def _integer(text: str) -> int | OutOfRange:
    try:
        return int(text)
    except ValueError:  # over sys.get_int_max_str_digits() digits
        return OutOfRange(text)


def _float(text: str) -> float | OutOfRange:
    value = float(text)
    return value if math.isfinite(value) else OutOfRange(text)


def json_kind(value: Any) -> str:
    """What JSON calls a value's type, for messages: "array", not Python's "list"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float, OutOfRange)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an object" if isinstance(value, dict) else "an array" if isinstance(value, list) else type(value).__name__


def value_problem(value: Any) -> str | None:
    """``"<field>: <what is wrong>"`` for the first value of a parsed record that the pipeline
    cannot take, or None. Also for records built in Python (``notes_nlp.score``), whose floats
    may be inf or nan and whose strings may hold surrogates."""
    found = find_problem(value)
    return None if found is None else f"{field_path(found[0]) or 'record'}: {found[1]}"


def find_problem(value: Any) -> tuple[tuple[str | int, ...], str] | None:
    """Where (keys and indices) and what the first such value is, or None."""
    return _problem(value, (), 0)


def field_path(where: tuple[str | int, ...]) -> str:
    """``("billed", 0, "units")`` → ``billed[0].units``, short enough for a message (a record
    nested 900 deep has a long path, a key may be long)."""
    path = ""
    for part in where:
        path += f"[{part}]" if isinstance(part, int) else (f".{_clipped(part)}" if path else _clipped(part))
    return _clipped(path)


def unpaired_surrogate(text: str) -> str | None:
    """The first unpaired surrogate of a string, or None. A JSON ``\\u`` escape can write one
    ("\\udaf2"), and a byte that is not UTF-8 read with ``surrogateescape`` becomes one, but no
    UTF-8 text holds it: spaCy, the spool and the output writers cannot encode it."""
    found = _SURROGATE.search(text)
    return found.group() if found else None


def _problem(value: Any, where: tuple[str | int, ...], depth: int) -> tuple[tuple[str | int, ...], str] | None:
    if isinstance(value, str):
        surrogate = unpaired_surrogate(value)
        return None if surrogate is None else (where, _surrogate_message(surrogate))
    if isinstance(value, OutOfRange):
        return where, f"{value.text} is not a number that can be read (finite, at most 4,300 digits)"
    if isinstance(value, float) and not math.isfinite(value):
        return where, f"{value!r} is not a finite number"
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        return where, "a number of 4,300 digits or more"
    if not isinstance(value, (dict, list)):
        return None
    if depth >= MAX_DEPTH:
        return where, f"nested more than {MAX_DEPTH} levels deep"
    for key, item in value.items() if isinstance(value, dict) else enumerate(value):
        if isinstance(key, str) and (surrogate := unpaired_surrogate(key)):
            return where, f"a key is {_surrogate_message(surrogate)}"
        if found := _problem(item, (*where, key if isinstance(value, list) else str(key)), depth + 1):
            return found
    return None


def _surrogate_message(surrogate: str) -> str:
    return f"not valid Unicode: an unpaired surrogate \\u{ord(surrogate):04x} (a lone \\u escape, or a byte of another encoding)"


def _clipped(path: str) -> str:
    """A field path short enough for a message: a record nested 900 deep has a long one."""
    return path if len(path) <= 60 else f"{path[:60]}…"

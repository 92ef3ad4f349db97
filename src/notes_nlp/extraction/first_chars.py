"""Compile a rule's regular expression with a guard on its first character.

Most of our rules start ``\\b(?:word|word|...)`` under IGNORECASE. Python's
``re`` tries the alternatives at every word boundary of the note: it has a
first-character shortcut, but not past a leading ``\\b`` or lookbehind, nor for
letters under IGNORECASE. With a lookahead on the characters a match can begin
with, in front of the whole pattern (``(?=(?i:[dipr]))(?:\\b...)``), most
positions fail one class test: these rules scan a note in about half the
time. The lookahead is zero-width and only states what the pattern already
requires, so the matches, their spans and their groups are the same. It is
case-blind, so that it holds whatever flags apply to the part of the pattern
it was read from.

The characters are read from the parsed pattern (``re._parser``, the parser
``re`` itself uses); a digit (``\\d``) may stand among letters ("from 4/10 to
2/10" or "making progress"). A pattern whose first character is not one of a
few literals (only digits, a class range, ``.``, a back-reference) or that may
match the empty string is compiled as written: there a guard saved nothing
when measured.

A rule whose matches all begin with a digit (most measures and times: "12
min", "4/10", "10:05-10:30") gains nothing from a guard, since ``re`` still
stops at every position; it is instead tried only at the note's digits
(:func:`finditer_from`), which finds the same matches in a third of the time.
"""

from __future__ import annotations

import re
from re import _constants as c  # type: ignore[attr-defined]
from re import _parser as parser  # type: ignore[attr-defined]
from typing import Iterator

_ZERO_WIDTH = (c.AT, c.ASSERT, c.ASSERT_NOT)
_REPEATS = (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT)
_FLAGS = re.compile(r"(?:\(\?[aiLmsux]+\))?")  # leading global flags, which must stay first
_DIGIT = r"\d"
DIGITS = frozenset({_DIGIT, *"0123456789"})


class Unknown(Exception):
    """The first character of a match is not one of a few literals here."""


def compile_guarded(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(pattern, flags)``, with a lookahead on the first characters when they are
    a few literals, not digits alone."""
    chars = first_chars(pattern, flags)
    if not chars or chars <= DIGITS:
        return re.compile(pattern, flags)
    guard = "(?=(?i:[" + "".join(sorted(chars)) + "]))"
    split = _FLAGS.match(pattern).end()
    return re.compile(pattern[:split] + guard + "(?:" + pattern[split:] + ")", flags)


def digit_led(pattern: re.Pattern[str]) -> bool:
    """Whether every match begins with a digit: such a rule need only be tried where the note
    has one (:func:`finditer_from`)."""
    chars = first_chars(pattern.pattern, pattern.flags)
    return bool(chars) and chars <= DIGITS


def finditer_from(pattern: re.Pattern[str], text: str, starts: list[int]) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)`` for a pattern whose matches can begin only at ``starts``
    (ascending offsets): the same matches, tried at those offsets alone. ``match`` at an
    offset sees the text before it (``\\b``, lookbehinds) as the scan does, and a match
    cannot be empty, so the next one is tried from its end."""
    end = 0
    for start in starts:
        if start >= end and (match := pattern.match(text, start)):
            yield match
            end = match.end()


def first_chars(pattern: str, flags: int = 0) -> set[str] | None:
    """The characters a match can begin with, as they stand in a class (a digit as
    ``\\d``), or None when they are not a few literals or a match may be empty."""
    try:
        chars, nullable = _first(parser.parse(pattern, flags))
    except Unknown:
        return None
    return None if nullable or not chars else chars


def _first(items) -> tuple[set[str], bool]:
    """The characters a match of this sequence can begin with (as they stand in a class),
    and whether it can be empty."""
    chars: set[str] = set()
    for op, av in items:
        if op in _ZERO_WIDTH:
            continue
        item_chars, nullable = _first_of(op, av)
        chars |= item_chars
        if not nullable:
            return chars, False
    return chars, True


def _first_of(op, av) -> tuple[set[str], bool]:
    if op is c.LITERAL:
        return {_escape(av)}, False
    if op is c.IN and all(_is_char_or_digits(item_op, item) for item_op, item in av):
        return set().union(*(_class_chars(item_op, item) for item_op, item in av)), False
    if op is c.SUBPATTERN:
        return _first(av[-1])
    if op is c.ATOMIC_GROUP:
        return _first(av)
    if op is c.BRANCH:
        firsts = [_first(branch) for branch in av[1]]
        return set().union(*(chars for chars, _ in firsts)), any(nullable for _, nullable in firsts)
    if op in _REPEATS:
        low, _, item = av
        chars, nullable = _first(item)
        return chars, nullable or low == 0
    raise Unknown(op)


def _is_char_or_digits(op, av) -> bool:
    """A literal, ``\\d`` or a range of digits ("[0-5]"), inside a class."""
    return op is c.LITERAL or (op, av) == (c.CATEGORY, c.CATEGORY_DIGIT) or (op is c.RANGE and ord("0") <= av[0] <= av[1] <= ord("9"))


def _class_chars(op, av) -> set[str]:
    if op is c.LITERAL:
        return {_escape(av)}
    if op is c.RANGE:
        return {chr(code) for code in range(av[0], av[1] + 1)}
    return {_DIGIT}


def _escape(code: int) -> str:
    """A character as it may stand inside ``[...]``: itself if ASCII alphanumeric, else its code."""
    char = chr(code)
    if char.isascii() and char.isalnum():
        return char
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"

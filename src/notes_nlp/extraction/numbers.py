"""Numbers in digits or in words: dictation writes "thirty-two minutes", EHRs write "32 min".

The words are data (``resources/numbers.json``). Regex rules write ``{number}`` where
a number in words may stand; :func:`expand` puts the alternation of the words there.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

PLACEHOLDER = "{number}"


@cache
def _words() -> tuple[dict[str, int], dict[str, int]]:
    text = resources.files("notes_nlp.extraction.resources").joinpath("numbers.json").read_text("utf-8")
    data = json.loads(text)
    return data["ones"], data["tens"]


def word_alternation() -> str:
    """A regex for a number in words from one to ninety-nine ("seven", "twenty-three")."""
    ones, tens = _words()
    unit = "|".join(sorted((w for w, n in ones.items() if n < 10), key=len, reverse=True))
    ones_words = "|".join(sorted(ones, key=len, reverse=True))
    tens_words = "|".join(sorted(tens, key=len, reverse=True))
    return rf"(?:(?:{tens_words})(?:[- ](?:{unit}))?|{ones_words})"


def expand(pattern: str) -> str:
    """A rule's regex with ``{number}`` replaced by the words' alternation."""
    return pattern.replace(PLACEHOLDER, word_alternation())


_DIGITS = re.compile(r"\d+")


@cache
def _word_number() -> re.Pattern[str]:
    return re.compile(rf"\b{word_alternation()}\b", re.IGNORECASE)


def first_number(text: str) -> int | None:
    """The first number of a text, in digits or words: "25 min" → 25, "thirty-two minutes" → 32."""
    digits = _DIGITS.search(text)
    words = _word_number().search(text)
    if digits and (not words or digits.start() < words.start()):
        return int(digits.group())
    if not words:
        return None
    ones, tens = _words()
    parts = re.split(r"[- ]", words.group().lower())
    return sum(tens.get(part, ones.get(part, 0)) for part in parts)

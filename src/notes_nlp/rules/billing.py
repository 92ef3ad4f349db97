"""Billed lines: parsed and checked once, so the rules can trust them."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from notes_nlp.codes import code_pattern
from notes_nlp.io.billed import MODIFIER
from notes_nlp.io.values import json_kind

_MODIFIER = re.compile(MODIFIER)
MAX_UNITS = 24
MAX_MINUTES = 720


@dataclass(frozen=True)
class BilledLine:
    index: int
    code: str
    modifiers: tuple[str, ...] = ()
    units: int = 1
    minutes: int | None = None
    label: str | None = None


def _count(value: Any, name: str, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``: 2, 2.0 or "2". Never an exception but ValueError
    naming the field: ``1e400``, ``"inf"``, NaN and 5,000-digit numbers included."""
    number = _number(value)
    if number is None:
        raise ValueError(f"{name} must be a whole number, got {_shown(value)}")
    if number != int(number) or not low <= number <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, got {_shown(value)}")
    return int(number)


def _number(value: Any) -> int | float | None:
    """The finite number a units or minutes value holds, or None."""
    if isinstance(value, str) and len(value.strip()) <= 20:
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if isinstance(value, int) or math.isfinite(value) else None


def _shown(value: Any) -> str:
    """A bad value for a message: short (a 5,000-digit number is not repeated whole)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**20:
        return f"a number of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:40] + "…"


def parse_line(index: int, raw: Any) -> BilledLine:
    """A billed line from its JSON form; ValueError names the field and says what is expected."""
    where = f"billed[{index}]"
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be an object like {{\"code\": \"97140\", \"units\": 1}}, got {_shown(raw)}")
    code = str(raw.get("code", "")).strip().upper()
    if not code_pattern().fullmatch(code):
        raise ValueError(f"{where}.code must be a 5-character CPT/HCPCS code such as 97140, got {_shown(raw.get('code'))}")
    modifiers = raw.get("modifiers") or []
    if isinstance(modifiers, str):
        modifiers = [modifiers]
    if not isinstance(modifiers, list) or not all(isinstance(m, (str, int)) and _MODIFIER.fullmatch(str(m).strip().upper()) for m in modifiers):
        raise ValueError(f"{where}.modifiers must be a list of 2-character modifiers such as [\"59\"], got {_shown(raw.get('modifiers'))}")
    units = _count(raw.get("units", 1), f"{where}.units", 1, MAX_UNITS)
    minutes = raw.get("minutes")
    if minutes is not None:
        minutes = _count(minutes, f"{where}.minutes", 0, MAX_MINUTES)
    label = raw.get("label")
    return BilledLine(index, code, tuple(str(m).strip().upper() for m in modifiers), units, minutes, label)


def parse_lines(raw: Any) -> list[BilledLine]:
    if not isinstance(raw, list):
        raise ValueError(f"billed must be a list of lines, got {json_kind(raw)}")
    return [parse_line(index, line) for index, line in enumerate(raw)]

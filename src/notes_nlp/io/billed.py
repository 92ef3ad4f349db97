"""How a billed line is written: the one reader of each written form, and the syntax they share.

* :func:`parse_billed`, the compact notation of a CSV column and of ``check
  --billed``: ``97140-59x2;98941``;
* :func:`read_billing`, a line as a note writes it ("97140-59 x2", "97124 (2)",
  "97140 2 units"), for the extraction's ``BILLING`` spans;
* :data:`MODIFIER`, the syntax of a modifier, which the JSON form's checks
  (:func:`notes_nlp.rules.billing.parse_line`) and the service's schema use too.

The syntax of a code is a CPT fact (:func:`notes_nlp.codes.code_syntax`).

In the compact notation a line is a code, then each modifier after a ``-``, then ``x`` and the units:
``97140-XSx1``, ``97140-59-GPx2``, ``97124 x 3``. Modifiers are two characters,
so the X of XS, XE, XP or XU (the distinct-procedure modifiers that
``modifier-59-missing`` asks for) is never taken for the units separator. The
code, modifiers and units are then checked like any billed line
(:func:`notes_nlp.rules.billing.parse_line`), which names the bad field.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from notes_nlp.codes import code_syntax

MODIFIER = "[0-9A-Z]{2}"  # two characters: 59, XS, GP
_IN_NOTE_MODIFIER = re.compile(rf"-\s?({MODIFIER})\b")
_IN_NOTE_UNITS = re.compile(r"(?:[x×]\s?(\d{1,2})|\(\s?(\d{1,2})|\s(\d{1,2})\s?units?)", re.I)
_LINE = re.compile(
    r"\s*(?P<code>[0-9A-Za-z]{5})(?P<modifiers>(?:\s*-\s*[0-9A-Za-z]{2})*)(?:\s*[xX]\s*(?P<units>\d{1,4}))?\s*"
)
_SHOWN = 40
EXAMPLE = "97140-59x2;98941"


def parse_billed(text: str) -> list[dict[str, Any]]:
    """``"97140-XSx2;98941"`` → ``[{"code": "97140", "modifiers": ["XS"], "units": 2}, {"code": "98941"}]``;
    ValueError saying which line cannot be read."""
    lines = []
    for item in filter(None, (part.strip() for part in text.split(";"))):
        found = _LINE.fullmatch(item)
        if found is None:
            shown = item if len(item) <= _SHOWN else item[:_SHOWN] + "…"
            raise ValueError(f"cannot read {shown!r}; write lines like {EXAMPLE}")
        line: dict[str, Any] = {"code": found["code"].upper()}
        modifiers = [part.strip().upper() for part in found["modifiers"].split("-")[1:]]
        if modifiers:
            line["modifiers"] = modifiers
        if found["units"]:
            line["units"] = int(found["units"])
        lines.append(line)
    return lines


@cache
def _in_note_code() -> re.Pattern[str]:
    return re.compile(code_syntax())


def read_billing(text: str) -> dict[str, Any]:
    """A billed line as a note writes it: "97140-59 x2" → ``{"code": "97140", "modifiers": ["59"],
    "units": 2}``; the first code in the text (None without one), the modifiers and units after it."""
    code = _in_note_code().search(text)
    rest = text[code.end():] if code else text
    units = _IN_NOTE_UNITS.search(rest)
    count = next((int(g) for g in units.groups() if g), 1) if units else 1
    return {"code": code.group() if code else None, "modifiers": [m.upper() for m in _IN_NOTE_MODIFIER.findall(rest)], "units": count}

"""The compact ``billed`` notation of a CSV column and of ``check --billed``: ``97140-59x2;98941``.

A line is a code, then each modifier after a ``-``, then ``x`` and the units:
``97140-XSx1``, ``97140-59-GPx2``, ``97124 x 3``. Modifiers are two characters,
so the X of XS, XE, XP or XU (the distinct-procedure modifiers that
``modifier-59-missing`` asks for) is never taken for the units separator. The
code, modifiers and units are then checked like any billed line
(:func:`notes_nlp.rules.billing.parse_line`), which names the bad field.
"""

from __future__ import annotations

import re
from typing import Any

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

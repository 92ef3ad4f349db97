"""A note's ``date``: ISO 8601 (``2026-03-04``) or US ``M/D/YYYY`` (``3/4/2026``), nothing else.

The notes of a chart are read in date order, so a date is parsed, never
compared as a string: "3/2/2026" sorted as text falls after "2026-03-09", and
"2026-02-30" would be accepted. Any other form, or a day that does not exist,
is the record's error.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from notes_nlp.io.values import json_kind

_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_US = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
FORMATS = "YYYY-MM-DD or M/D/YYYY"


def parse_date(value: Any) -> dt.date | None:
    """The date of a record's ``date`` field; None when it has none (absent, null or "");
    ValueError saying what is wrong otherwise."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"date must be a string ({FORMATS}), got {json_kind(value)}")
    text = value.strip()
    if iso := _ISO.fullmatch(text):
        year, month, day = iso.groups()
    elif us := _US.fullmatch(text):
        month, day, year = us.groups()
    else:
        raise ValueError(f"date must be written {FORMATS}, got {_shown(value)}")
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        raise ValueError(f"date {_shown(value)} is not a day of the calendar") from None


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")

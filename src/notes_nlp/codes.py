"""The CPT facts every part reads, from one file: ``rules/data/codes.json``.

The minutes in a unit, the timed codes, the two codes the rubric judges and
their families of techniques, the chiropractic CMT codes, the distinct-procedure
modifiers and the syntax of a code are data, so that a coder edits them in one
place and every reader (the record readers, the extraction, the rules, the
model's features, the service's schemas) follows. Nothing else holds a copy.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Mapping


@cache
def _facts() -> dict[str, Any]:
    text = resources.files("notes_nlp.rules").joinpath("data", "codes.json").read_text("utf-8")
    return json.loads(text)


@cache
def unit_minutes() -> int:
    """Minutes in one unit of a timed code (15)."""
    return int(_facts()["unit_minutes"])


@cache
def timed_codes() -> frozenset[str]:
    """The codes billed in units of :func:`unit_minutes`; untimed ones (CMT, hot packs) are one
    unit per service."""
    return frozenset(_facts()["timed_codes"])


@cache
def family_of_code() -> Mapping[str, str]:
    """Each code the rubric judges (97124, 97140) and the label of its techniques' family."""
    return MappingProxyType(dict(_facts()["muscle_work_codes"]))


@cache
def code_of_family() -> Mapping[str, str]:
    """A family of techniques' label and the code it is billed under."""
    return MappingProxyType({family: code for code, family in family_of_code().items()})


@cache
def muscle_work_codes() -> tuple[str, ...]:
    """The codes the rubric judges, in the file's order."""
    return tuple(family_of_code())


@cache
def chiropractic_cmt_codes() -> frozenset[str]:
    """98940-98943: the CMT codes 97124/97140 are edited against."""
    return frozenset(code for code, about in _facts()["cmt_codes"].items() if about["system"] == "chiropractic")


@cache
def distinct_modifiers() -> tuple[str, ...]:
    """The NCCI distinct-procedure modifiers (59, XE, XS, XP, XU) a payer profile may accept."""
    return tuple(_facts()["distinct_modifiers"])


@cache
def code_syntax() -> str:
    """The regular expression of a CPT or HCPCS code, unanchored, without groups."""
    return _facts()["code_syntax"]


@cache
def code_pattern() -> re.Pattern[str]:
    """A whole string that is a code: ``code_pattern().fullmatch("97140")``."""
    return re.compile(f"(?:{code_syntax()})")

"""The catalog of rule ids and their severities (``data/rules.json``)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources


@cache
def catalog() -> dict[str, dict]:
    text = resources.files("notes_nlp.rules").joinpath("data", "rules.json").read_text("utf-8")
    return {rule: entry for rule, entry in json.loads(text).items() if not rule.startswith("_")}


def severity(rule: str, code: str) -> str:
    """``error`` or ``warning`` for this rule on a line of this code."""
    value = catalog()[rule]["severity"]
    return value[code] if isinstance(value, dict) else value


def rule_ids(code: str, level: str) -> frozenset[str]:
    """The rule ids that have this severity on a line of this code."""
    return frozenset(rule for rule in catalog() if severity(rule, code) == level)

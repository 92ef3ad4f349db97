"""Curated regression cases (``cases/*.jsonl``), one file per concern, one test per case.

A case lists mentions it expects (label, text, and optionally status,
section, value) and mentions that must be absent (a label, optionally a text).
Known failures are named in ``known_failures.json``: they are expected to fail
(xfail strict), so a fixed one shows up and the list stays true.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from notes_nlp.extraction.records import entity_records

HERE = Path(__file__).parent
KNOWN = json.loads((HERE / "known_failures.json").read_text())["cases"]


def load_cases() -> list:
    params = []
    for path in sorted((HERE / "cases").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                case = json.loads(line)
                marks = [pytest.mark.xfail(reason=KNOWN[case["id"]], strict=True)] if case["id"] in KNOWN else []
                params.append(pytest.param(case, id=f"{path.stem}:{case['id']}", marks=marks))
    return params


def _matches(entity: dict, want: dict) -> bool:
    if entity["label"] != want["label"] or ("text" in want and entity["text"] != want["text"]):
        return False
    if "measurable" in want and (entity["value"] or {}).get("measurable") != want["measurable"]:
        return False
    if "value" in want and any((entity["value"] or {}).get(k) != v for k, v in want["value"].items()):
        return False
    return all(entity[key] == want[key] for key in ("status", "section") if key in want)


@pytest.mark.parametrize("case", load_cases())
def test_case(nlp, case):
    entities = entity_records(nlp(case["text"]))
    for want in case.get("expect", []):
        candidates = [e for e in entities if e["label"] == want["label"] and e["text"] == want.get("text", e["text"])]
        assert any(_matches(e, want) for e in entities), f"expected {want}, found {candidates or 'nothing'}"
    for banned in case.get("absent", []):
        found = [e for e in entities if _matches(e, banned)]
        assert not found, f"expected no {banned}, found {found}"

"""Check the corpus: schema, offsets, labels and reasons, splits and leakage.

Returns a list of problems, each naming the file and line; an empty list
means the corpus is valid. Leakage is a note whose text nearly repeats a note
of another split (word 4-gram Jaccard ≥ 0.8): a model would be tested on
what it trained on.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

from notes_nlp.codes import muscle_work_codes
from notes_nlp.corpus.load import CorpusNote, load_corpus
from notes_nlp.labels import LABELS, STATUS_LABELS, STATUSES
from notes_nlp.rules.catalog import rule_ids

SOURCES = frozenset({"handwritten", "generated"})
PAYERS = frozenset({"cms", "commercial-strict"})
REQUIRED = ("note_id", "text", "billed", "provider_credential", "payer", "source", "writer", "style")
LEAK_JACCARD = 0.8
_WORD = re.compile(r"\w+")


def check_note(note: CorpusNote) -> list[str]:
    record, where = note.record, note.where
    problems = [f"{where}: missing field {field!r}" for field in REQUIRED if field not in record]
    if problems:
        return problems
    if record["source"] not in SOURCES:
        problems.append(f"{where}: source must be one of {sorted(SOURCES)}, got {record['source']!r}")
    if record["payer"] not in PAYERS:
        problems.append(f"{where}: payer must be one of {sorted(PAYERS)}, got {record['payer']!r}")
    if record.get("chart_id") and not record.get("date"):
        problems.append(f"{where}: a note in a chart needs a date")
    if note.split is None:
        problems.append(f"{where}: writer {record['writer']!r} is in no split of splits.json")
    elif note.split == "test" and record["source"] != "handwritten":
        problems.append(f"{where}: the test split holds hand-written notes only")
    problems += [f"{where}: {p}" for p in check_lines(record["billed"])]
    problems += [f"{where}: {p}" for p in check_entities(record["text"], record.get("gold_entities"))]
    if record["source"] == "handwritten" and not record.get("gold_entities"):
        problems.append(f"{where}: a hand-written note needs gold_entities")
    return problems


def check_lines(billed: Any) -> list[str]:
    if not isinstance(billed, list):
        return ["billed must be a list (empty for a note that bills nothing, such as an evaluation)"]
    problems = []
    for index, line in enumerate(billed):
        code = str(line.get("code", ""))
        if code not in muscle_work_codes():
            continue
        name = f"billed[{index}] ({code})"
        label, reasons, warnings = line.get("label"), line.get("reasons"), line.get("warnings", [])
        if label not in ("supported", "unsupported"):
            problems.append(f"{name}: label must be supported or unsupported, got {label!r}")
        if not isinstance(reasons, list):
            problems.append(f"{name}: reasons must be a list of rule ids")
            continue
        errors, cautions = rule_ids(code, "error"), rule_ids(code, "warning")
        problems += [f"{name}: unknown error rule id {r!r} in reasons" for r in reasons if r not in errors]
        problems += [f"{name}: unknown warning rule id {w!r} in warnings" for w in warnings if w not in cautions]
        if (label == "unsupported") != bool(reasons):
            problems.append(f"{name}: label {label!r} disagrees with reasons {reasons}")
    return problems


def check_entities(text: str, entities: Iterable[dict] | None) -> list[str]:
    problems = []
    for index, entity in enumerate(entities or []):
        name = f"gold_entities[{index}]"
        start, end, label = entity.get("start"), entity.get("end"), entity.get("label")
        if label not in LABELS:
            problems.append(f"{name}: unknown label {label!r}")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
            problems.append(f"{name}: bad offsets {start}-{end}")
        elif text[start:end] != entity.get("text"):
            problems.append(f"{name}: text[{start}:{end}] is {text[start:end]!r}, not {entity.get('text')!r}")
        if label in STATUS_LABELS and entity.get("status") not in STATUSES:
            problems.append(f"{name}: {label} needs a status in {list(STATUSES)}, got {entity.get('status')!r}")
    return problems


def check_structure(notes: list[CorpusNote]) -> list[str]:
    """Unique ids; a chart and a writer each stay within one split."""
    problems = []
    seen: dict[str, str] = {}
    chart_splits: dict[str, set[str | None]] = defaultdict(set)
    for note in notes:
        note_id = note.record.get("note_id")
        if note_id in seen:
            problems.append(f"{note.where}: duplicate note_id {note_id!r} (first at {seen[note_id]})")
        seen.setdefault(note_id, note.where)
        if note.record.get("chart_id"):
            chart_splits[note.record["chart_id"]].add(note.split)
    problems += [f"chart {chart!r} crosses splits {sorted(map(str, s))}" for chart, s in chart_splits.items() if len(s) > 1]
    return problems


def shingles(text: str, n: int = 4) -> frozenset[str]:
    words = _WORD.findall(text.lower())
    return frozenset(" ".join(words[i : i + n]) for i in range(max(len(words) - n + 1, 1)))


def find_leaks(notes: list[CorpusNote], threshold: float = LEAK_JACCARD) -> list[str]:
    """Pairs of notes in different splits whose texts nearly repeat each other."""
    sets = [shingles(note.record.get("text", "")) for note in notes]
    index: dict[str, list[int]] = defaultdict(list)
    for i, grams in enumerate(sets):
        for gram in grams:
            index[gram].append(i)
    problems = []
    for i, grams in enumerate(sets):
        shared: dict[int, int] = defaultdict(int)
        for gram in grams:
            for j in index[gram]:
                if j > i and notes[j].split != notes[i].split:
                    shared[j] += 1
        for j, count in shared.items():
            jaccard = count / (len(grams) + len(sets[j]) - count)
            if jaccard >= threshold:
                problems.append(
                    f"{notes[i].where} ({notes[i].split}) and {notes[j].where} ({notes[j].split}) "
                    f"nearly repeat each other (Jaccard {jaccard:.2f}): leakage across splits"
                )
    return problems


def validate(folder: str | Path) -> list[str]:
    notes = list(load_corpus(folder))
    if not notes:
        return [f"{folder}: no notes found (expected handwritten/*.jsonl and generated/*.jsonl)"]
    problems = [p for note in notes for p in check_note(note)]
    return problems + check_structure(notes) + find_leaks(notes)



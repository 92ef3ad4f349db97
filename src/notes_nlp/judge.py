"""Judge notes with the rules, chart by chart: extraction → facts → findings.

Notes sharing a ``chart_id`` are read together in date order (the parsed
date: ``3/2/2026`` is before ``2026-03-09``), so goals set in a plan of care
count for later visits and progress is judged across visits. Results come
back in input order, one per record; a record whose billed lines cannot be
read gets an ``error`` instead of lines.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from spacy.language import Language

from notes_nlp.extraction.records import entity_records
from notes_nlp.io.dates import parse_date
from notes_nlp.io.records import chart_key
from notes_nlp.extraction.text_index import tokenized
from notes_nlp.rules.chart import LONE_NOTE, ChartContext, chart_contexts
from notes_nlp.rules.checks import judge_note
from notes_nlp.rules.facts import NoteFacts
from notes_nlp.rules.findings import LineJudgement
from notes_nlp.rules.profiles import DEFAULT_PROFILE, PayerProfile, ProfileError, bundled_profile

ProfileLoader = Callable[[str], PayerProfile]


@dataclass
class NoteJudgement:
    note_id: str | None
    entities: list[dict[str, Any]] = field(default_factory=list)
    lines: list[LineJudgement] = field(default_factory=list)
    profile: PayerProfile | None = None
    facts: NoteFacts | None = None
    context: ChartContext = LONE_NOTE
    error: str | None = None


def chart_order(records: Sequence[dict[str, Any]]) -> list[list[int]]:
    """Indices of the records grouped by chart, each group in date order (ties in input order,
    undated notes after the dated ones, in input order); lone notes alone. The records are
    checked ones, whose dates parse."""
    charts: dict[str, list[int]] = defaultdict(list)
    groups: list[list[int]] = []
    for index, record in enumerate(records):
        chart = chart_key(record)
        if chart:
            if chart not in charts:
                groups.append(charts[chart])
            charts[chart].append(index)
        else:
            groups.append([index])
    return [sorted(group, key=lambda i: _visit_order(records[i])) for group in groups]


def _visit_order(record: dict[str, Any]) -> tuple[bool, dt.date]:
    date = parse_date(record.get("date"))
    return date is None, date or dt.date.min


def judge_records(
    records: Sequence[dict[str, Any]],
    nlp: Language,
    profile_for: ProfileLoader = bundled_profile,
    default_payer: str = DEFAULT_PROFILE,
) -> list[NoteJudgement]:
    """Extraction and rules for valid note records (each with ``note_id`` and ``text``)."""
    results = [NoteJudgement(str(r.get("note_id"))) for r in records]
    for result, record, doc in zip(results, records, nlp.pipe(tokenized(nlp, r["text"]) for r in records)):
        result.entities = entity_records(doc)
        try:
            result.profile = profile_for(record.get("payer") or default_payer)
            result.facts = NoteFacts.build(record, result.entities)
        except (ValueError, ProfileError) as exc:
            result.error = str(exc)
    for group in chart_order(records):
        valid = [i for i in group if results[i].error is None]
        contexts: list[ChartContext] = chart_contexts([results[i].facts for i in valid]) if len(valid) > 1 else [LONE_NOTE] * len(valid)
        for index, context in zip(valid, contexts):
            result = results[index]
            result.context = context
            result.lines = judge_note(result.facts, result.profile, context)
    return results

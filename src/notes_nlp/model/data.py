"""Labeled line examples from note records: extraction and rules once, then features."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Sequence

from spacy.language import Language

from notes_nlp.judge import judge_records
from notes_nlp.model.features import line_example

SUPPORTED = "supported"


@dataclass
class LabeledLines:
    """One entry per labeled 97124/97140 line, in corpus order."""

    examples: list[dict[str, Any]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)  # 1 = supported
    groups: list[str] = field(default_factory=list)  # writer (or chart): what cross-validation keeps together
    codes: list[str] = field(default_factory=list)
    rule_errors: list[int] = field(default_factory=list)
    suggested: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)


def labeled_lines(records: Sequence[dict[str, Any]], nlp: Language) -> LabeledLines:
    data = LabeledLines()
    for record, note in zip(records, judge_records(records, nlp)):
        if note.error:
            raise ValueError(f"note {record.get('note_id')}: {note.error}")
        billed = record.get("billed") or []  # lines read from the text carry no label
        for line in note.lines:
            label = billed[line.index].get("label") if line.index < len(billed) else None
            if label is None:
                continue
            data.examples.append(line_example(note, line, record["text"]))
            data.labels.append(int(label == SUPPORTED))
            data.groups.append(str(record.get("writer") or record.get("chart_id") or record["note_id"]))
            data.codes.append(line.code)
            data.rule_errors.append(len(line.errors))
            data.suggested.append(line.suggested_code)
    return data


def records_hash(records: Sequence[dict[str, Any]]) -> str:
    """A fingerprint of the training data, recorded with the model."""
    digest = hashlib.sha256()
    for record in records:
        digest.update(json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()

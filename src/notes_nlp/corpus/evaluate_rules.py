"""How well the rules' error findings recover the gold reasons of the corpus labels.

Counted over (line, rule) pairs: a predicted error rule on a line is a true
positive when the gold ``reasons`` of that line list it. Reported on the
unsupported lines (the issue's measure) and on all lines, with the verdict
accuracy and the same figures for warnings.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

from spacy.language import Language

from notes_nlp.judge import judge_records
from notes_nlp.rules.findings import ERROR, WARNING


@dataclass
class PairCounts:
    tp: Counter = field(default_factory=Counter)
    fp: Counter = field(default_factory=Counter)
    fn: Counter = field(default_factory=Counter)

    def add(self, gold: set[str], predicted: set[str]) -> None:
        for rule in gold & predicted:
            self.tp[rule] += 1
        for rule in predicted - gold:
            self.fp[rule] += 1
        for rule in gold - predicted:
            self.fn[rule] += 1

    def precision_recall(self, rules: Sequence[str] | None = None) -> tuple[float, float]:
        keys = rules if rules is not None else set(self.tp) | set(self.fp) | set(self.fn)
        tp = sum(self.tp[k] for k in keys)
        fp = sum(self.fp[k] for k in keys)
        fn = sum(self.fn[k] for k in keys)
        return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


@dataclass
class RuleScores:
    unsupported: PairCounts = field(default_factory=PairCounts)
    all_lines: PairCounts = field(default_factory=PairCounts)
    warnings: PairCounts = field(default_factory=PairCounts)
    lines: int = 0
    verdict_correct: int = 0
    mistakes: list[str] = field(default_factory=list)


def evaluate(nlp: Language, records: list[dict[str, Any]]) -> RuleScores:
    scores = RuleScores()
    for record, judged in zip(records, judge_records(records, nlp)):
        gold_lines = [line for line in record["billed"] if "label" in line]
        for gold, line in zip(gold_lines, judged.lines):
            predicted = {f.rule for f in line.findings if f.severity == ERROR}
            reasons = set(gold.get("reasons", []))
            scores.lines += 1
            scores.verdict_correct += (gold["label"] == "supported") == line.supported
            scores.all_lines.add(reasons, predicted)
            if gold["label"] == "unsupported":
                scores.unsupported.add(reasons, predicted)
            scores.warnings.add(set(gold.get("warnings", [])), {f.rule for f in line.findings if f.severity == WARNING})
            if reasons != predicted:
                scores.mistakes.append(
                    f"{record['note_id']} {line.code}: gold {sorted(reasons)} predicted {sorted(predicted)}"
                )
    return scores


def report(scores: RuleScores, show_mistakes: int = 0) -> str:
    p, r = scores.unsupported.precision_recall()
    pa, ra = scores.all_lines.precision_recall()
    pw, rw = scores.warnings.precision_recall()
    lines = [
        f"lines: {scores.lines}, verdict accuracy {scores.verdict_correct / max(scores.lines, 1):.3f}",
        f"error findings vs gold reasons, unsupported lines: precision {p:.3f} recall {r:.3f}",
        f"error findings vs gold reasons, all lines:         precision {pa:.3f} recall {ra:.3f}",
        f"warning findings vs gold warnings, all lines:      precision {pw:.3f} recall {rw:.3f}",
        "per rule (all lines): tp / fp / fn",
    ]
    counts = scores.all_lines
    for rule in sorted(set(counts.tp) | set(counts.fp) | set(counts.fn)):
        lines.append(f"  {rule:<22} {counts.tp[rule]:>4} / {counts.fp[rule]:>4} / {counts.fn[rule]:>4}")
    w = scores.warnings
    for rule in sorted(set(w.tp) | set(w.fp) | set(w.fn)):
        lines.append(f"  {rule:<22} {w.tp[rule]:>4} / {w.fp[rule]:>4} / {w.fn[rule]:>4}  (warning)")
    lines += scores.mistakes[:show_mistakes]
    return "\n".join(lines)

"""How well the extraction finds the gold mentions of the corpus.

Mentions match when they have the same label and their character ranges
overlap (lenient; strict = same offsets is printed too). Status accuracy is
measured on technique mentions found by both, over the four statuses.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from spacy.language import Language

from notes_nlp.extraction.records import entity_records

TECHNIQUE_LABELS = ("MASSAGE_TECHNIQUE", "MANUAL_TECHNIQUE")


@dataclass
class Scores:
    tp: Counter = field(default_factory=Counter)
    fp: Counter = field(default_factory=Counter)
    fn: Counter = field(default_factory=Counter)
    strict_tp: Counter = field(default_factory=Counter)
    status_total: int = 0
    status_correct: int = 0
    status_confusion: Counter = field(default_factory=Counter)

    def f1(self, labels: Iterable[str], strict: bool = False) -> tuple[float, float, float]:
        labels = list(labels)
        tp = sum((self.strict_tp if strict else self.tp)[label] for label in labels)
        predicted = sum(self.tp[label] + self.fp[label] for label in labels)
        gold = sum(self.tp[label] + self.fn[label] for label in labels)
        precision = tp / predicted if predicted else 0.0
        recall = tp / gold if gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1


def _overlaps(a: dict, b: dict) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


def score_note(gold: list[dict], predicted: list[dict], scores: Scores) -> None:
    used: set[int] = set()
    for g in gold:
        match = next(
            (i for i, p in enumerate(predicted) if i not in used and p["label"] == g["label"] and _overlaps(g, p)), None
        )
        if match is None:
            scores.fn[g["label"]] += 1
            continue
        used.add(match)
        p = predicted[match]
        scores.tp[g["label"]] += 1
        scores.strict_tp[g["label"]] += (p["start"], p["end"]) == (g["start"], g["end"])
        if g["label"] in TECHNIQUE_LABELS:
            scores.status_total += 1
            scores.status_correct += p["status"] == g.get("status")
            scores.status_confusion[(g.get("status"), p["status"])] += 1
    for i, p in enumerate(predicted):
        if i not in used:
            scores.fp[p["label"]] += 1


def evaluate(nlp: Language, records: list[dict[str, Any]]) -> Scores:
    scores = Scores()
    annotated = [r for r in records if r.get("gold_entities")]
    for record, doc in zip(annotated, nlp.pipe(r["text"] for r in annotated)):
        score_note(record["gold_entities"], entity_records(doc), scores)
    return scores


def report(scores: Scores, notes: int) -> str:
    p, r, f = scores.f1(TECHNIQUE_LABELS)
    _, _, strict = scores.f1(TECHNIQUE_LABELS, strict=True)
    status = scores.status_correct / scores.status_total if scores.status_total else 0.0
    lines = [
        f"notes with gold entities: {notes}",
        f"technique mentions: precision {p:.3f} recall {r:.3f} F1 {f:.3f} (strict offsets F1 {strict:.3f})",
        f"technique status accuracy: {status:.3f} over {scores.status_total} matched mentions",
        "per label (lenient):",
    ]
    labels = sorted(set(scores.tp) | set(scores.fn))  # labels the gold annotates
    for label in labels:
        lp, lr, lf = scores.f1([label])
        gold = scores.tp[label] + scores.fn[label]
        lines.append(f"  {label:<18} P {lp:.3f} R {lr:.3f} F1 {lf:.3f} (gold {gold})")
    errors = {k: v for k, v in scores.status_confusion.items() if k[0] != k[1]}
    if errors:
        lines.append("status errors (gold -> predicted): " + ", ".join(f"{g}->{p}: {n}" for (g, p), n in sorted(errors.items())))
    return "\n".join(lines)

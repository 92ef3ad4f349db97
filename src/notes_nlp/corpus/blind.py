"""The blind loop: how the verdicts hold on notes written by people who never saw the code.

``corpus/blind/`` holds notes written by blind writers (helpers given only a
brief, the rubric of docs/rubric.md and a fact sheet on the two codes) and
labelled again, apart, by a blind reader working from the rubric alone; where
the two disagreed the label was settled from the rubric. Its ``splits.json`` puts each chart (or lone note) in
``dev``, which may be read and tuned on, or ``test``, which never is. The
figures that matter are per writer: dev accuracy, test accuracy and the gap
between them, since a rule tuned to one way of writing fails on the next.

``precision/`` holds notes of other specialties (operative, obstetric,
cardiology, imaging...) that use technique words in their own senses; any
performed technique found there that the writer did not mark is invented.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from notes_nlp.codes import muscle_work_codes
from notes_nlp.corpus.evaluate_extraction import TECHNIQUE_LABELS, Scores, score_note
from notes_nlp.labels import PERFORMED

BLIND_SPLITS = ("dev", "test")


@dataclass(frozen=True)
class BlindNote:
    record: dict[str, Any]
    split: str | None


def chart_key(record: dict[str, Any]) -> str:
    """What a split holds: a chart, or a lone note."""
    return str(record.get("chart_id") or record["note_id"])


def writer_order(writer: str) -> tuple[str, int]:
    """Writers in the order they wrote: by letters, then by number (cw2 before cw10)."""
    letters = writer.rstrip("0123456789")
    number = writer[len(letters):]
    return letters, int(number) if number else 0


def load_splits(folder: Path) -> dict[str, str]:
    data = json.loads((folder / "splits.json").read_text("utf-8")) if (folder / "splits.json").exists() else {}
    return {key: split for split in BLIND_SPLITS for key in data.get(split, [])}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


def load_blind(folder: str | Path) -> list[BlindNote]:
    """Every labelled blind note, with the split of its chart."""
    folder = Path(folder)
    splits = load_splits(folder)
    return [
        BlindNote(record, splits.get(chart_key(record)))
        for path in sorted((folder / "notes").glob("*.jsonl"))
        for record in read_jsonl(path)
    ]


def load_precision(folder: str | Path) -> list[BlindNote]:
    """The notes of other specialties, each in the split of its note_id."""
    folder = Path(folder)
    splits = load_splits(folder)
    return [
        BlindNote(record, splits.get(record["note_id"]))
        for path in sorted((folder / "precision").glob("*.jsonl"))
        for record in read_jsonl(path)
    ]


@dataclass(frozen=True)
class LineResult:
    writer: str
    split: str
    note_id: str
    code: str
    gold: str
    gold_reasons: frozenset[str]
    verdict: str  # the rules' verdict: "unsupported" exactly when an error finding applies
    reasons: frozenset[str]
    score: float | None

    @property
    def correct(self) -> bool:
        return self.gold == self.verdict


def muscle_work_lines(record: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    return [(i, line) for i, line in enumerate(record.get("billed") or []) if str(line.get("code")) in muscle_work_codes()]


def line_results(notes: Sequence[BlindNote], scored: Sequence[dict[str, Any]]) -> list[LineResult]:
    """Each gold line beside what ``notes_nlp.scoring.score`` made of it."""
    results = []
    for note, output in zip(notes, scored):
        by_index = {line["billed_index"]: line for line in output.get("lines", [])}
        for index, gold in muscle_work_lines(note.record):
            line = by_index.get(index)
            errors = frozenset(f["rule"] for f in line["findings"] if f["severity"] == "error") if line else frozenset({"(no output)"})
            results.append(LineResult(
                note.record["writer"], note.split or "none", note.record["note_id"], str(gold["code"]), gold["label"],
                frozenset(gold.get("reasons", [])), "unsupported" if errors else "supported", errors,
                line["score"] if line else None,
            ))
    return results


def accuracy(results: Iterable[LineResult]) -> tuple[float | None, int]:
    results = list(results)
    return (sum(r.correct for r in results) / len(results) if results else None), len(results)


def reasons_found(results: Iterable[LineResult]) -> float | None:
    """Of the gold reasons of the unsupported lines, the share the rules give as error findings."""
    pairs = [(rule, r) for r in results for rule in r.gold_reasons]
    return sum(rule in r.reasons for rule, r in pairs) / len(pairs) if pairs else None


def roc_auc(results: Iterable[LineResult]) -> float | None:
    """ROC AUC of the score for supported lines, from ranks (ties count half)."""
    scored = [(r.score, r.gold == "supported") for r in results if r.score is not None]
    positives = [s for s, good in scored if good]
    negatives = [s for s, good in scored if not good]
    if not positives or not negatives:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


@dataclass
class Agreement:
    """Writer against reader, before the disagreements were settled."""

    lines: int = 0
    verdicts: int = 0
    reasons: int = 0
    settled_for: Counter = field(default_factory=Counter)

    def add(self, line: dict[str, Any]) -> None:
        blind = line.get("blind") or {}
        writer, reader = blind.get("writer"), blind.get("reader")
        if not writer or not reader:
            return
        self.lines += 1
        self.verdicts += writer["label"] == reader["label"]
        self.reasons += set(writer["reasons"]) == set(reader["reasons"])
        if writer["label"] != reader["label"]:
            self.settled_for["writer" if line["label"] == writer["label"] else "reader"] += 1


def agreement(notes: Iterable[BlindNote]) -> dict[str, Agreement]:
    found: dict[str, Agreement] = defaultdict(Agreement)
    for note in notes:
        for _, line in muscle_work_lines(note.record):
            found[note.record["writer"]].add(line)
    return dict(found)


def technique_scores(notes: Sequence[BlindNote], scored: Sequence[dict[str, Any]]) -> Scores:
    scores = Scores()
    for note, output in zip(notes, scored):
        gold = [e for e in note.record.get("gold_entities", []) if e["label"] in TECHNIQUE_LABELS]
        predicted = [e for e in output.get("entities", []) if e["label"] in TECHNIQUE_LABELS]
        score_note(gold, predicted, scores)
    return scores


def invented_techniques(record: dict[str, Any], entities: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Performed technique mentions the writer did not mark as a real technique."""
    gold = [e for e in record.get("gold_entities", []) if e["label"] in TECHNIQUE_LABELS]
    return [
        e for e in entities
        if e["label"] in TECHNIQUE_LABELS and e["status"] == PERFORMED
        and not any(g["start"] < e["end"] and e["start"] < g["end"] for g in gold)
    ]


def _in_context(text: str, mention: dict[str, Any], width: int = 40) -> str:
    before = text[max(0, mention["start"] - width) : mention["start"]]
    after = text[mention["end"] : mention["end"] + width]
    return " ".join(f"{before}[{mention['text']}]{after}".split())


def _pct(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def writer_table(results: Sequence[LineResult]) -> list[str]:
    """Per writer: dev accuracy, test accuracy and the gap (dev minus test)."""
    rows = ["| writer | dev lines | dev acc | test lines | test acc | gap |", "|---|---|---|---|---|---|"]
    writers = sorted({r.writer for r in results}, key=writer_order)
    for writer in [*writers, "all"]:
        mine = [r for r in results if writer in ("all", r.writer)]
        dev, n_dev = accuracy(r for r in mine if r.split == "dev")
        test, n_test = accuracy(r for r in mine if r.split == "test")
        gap = None if dev is None or test is None else dev - test
        gap_text = "  -  " if gap is None else f"{gap:+.3f}"
        rows.append(f"| {writer} | {n_dev} | {_pct(dev)} | {n_test} | {_pct(test)} | {gap_text} |")
    return rows


def composition_table(notes: Sequence[BlindNote], precision: Sequence[BlindNote] = ()) -> list[str]:
    """Per writer: notes, charts, 97124/97140 lines by label, splits, and agreement before settling."""
    rows = ["| writer | notes | charts | lines | supported | unsupported | dev / test lines | writer = reader (verdict) | (reasons) |",
            "|---|---|---|---|---|---|---|---|---|"]
    agreed = agreement(notes)
    for writer in sorted({n.record["writer"] for n in notes}, key=writer_order):
        mine = [n for n in notes if n.record["writer"] == writer]
        lines = [(n, line) for n in mine for _, line in muscle_work_lines(n.record)]
        a = agreed.get(writer, Agreement())
        splits = Counter(n.split for n, _ in lines)
        rows.append(
            f"| {writer} | {len(mine)} | {len({n.record['chart_id'] for n in mine if n.record.get('chart_id')})} | {len(lines)} "
            f"| {sum(l['label'] == 'supported' for _, l in lines)} | {sum(l['label'] == 'unsupported' for _, l in lines)} "
            f"| {splits['dev']} / {splits['test']} | {a.verdicts}/{a.lines} | {a.reasons}/{a.lines} |"
        )
    if precision:
        rows += ["", "| precision writer | notes | dev / test | notes with a real technique marked |", "|---|---|---|---|"]
        for writer in sorted({n.record["writer"] for n in precision}, key=writer_order):
            mine = [n for n in precision if n.record["writer"] == writer]
            split = Counter(n.split for n in mine)
            rows.append(f"| {writer} | {len(mine)} | {split['dev']} / {split['test']} | {sum(bool(n.record.get('gold_entities')) for n in mine)} |")
    return rows


def report(
    notes: Sequence[BlindNote],
    scored: Sequence[dict[str, Any]],
    precision: Sequence[BlindNote] = (),
    precision_entities: Sequence[Sequence[dict[str, Any]]] = (),
    mistakes_of: str | None = "dev",
) -> str:
    results = line_results(notes, scored)
    lines = ["Verdicts (rules) against the settled labels, per writer:", *writer_table(results), ""]
    for split in BLIND_SPLITS:
        mine = [r for r in results if r.split == split]
        techniques = technique_scores([n for n in notes if n.split == split], [s for n, s in zip(notes, scored) if n.split == split])
        _, _, f1 = techniques.f1(TECHNIQUE_LABELS)
        status = techniques.status_correct / techniques.status_total if techniques.status_total else None
        lines.append(
            f"{split}: {len(mine)} lines, ROC AUC of the score {_pct(roc_auc(mine))}, gold reasons found "
            f"{_pct(reasons_found(mine))}, technique F1 {f1:.3f}, status accuracy {_pct(status)}"
        )
    agreed = agreement(notes)
    if agreed:
        total = Agreement()
        for a in agreed.values():
            total.lines += a.lines
            total.verdicts += a.verdicts
            total.reasons += a.reasons
            total.settled_for.update(a.settled_for)
        lines += ["", "Writer and second reader, before settling: "
                  f"verdicts agree on {total.verdicts}/{total.lines} lines ({total.verdicts / max(total.lines, 1):.3f}), "
                  f"reason sets on {total.reasons}/{total.lines}; disagreements settled for the writer "
                  f"{total.settled_for['writer']}, for the reader {total.settled_for['reader']}"]
    if precision:
        lines += ["", "Precision set (notes of other specialties): notes with an invented performed technique"]
        for split in BLIND_SPLITS:
            mine = [(n, e) for n, e in zip(precision, precision_entities) if n.split == split]
            invented = [(n, found) for n, entities in mine if (found := invented_techniques(n.record, entities))]
            lines.append(f"  {split}: {len(invented)} of {len(mine)} ({len(invented) / max(len(mine), 1):.1%})")
            if split == mistakes_of:
                lines += [f"    {n.record['note_id']}: " + "; ".join(_in_context(n.record["text"], e) for e in found) for n, found in invented]
    if mistakes_of:
        wrong = [r for r in results if r.split == mistakes_of and (not r.correct or r.reasons != r.gold_reasons)]
        lines += ["", f"{mistakes_of} lines whose error findings differ from the gold reasons ({len(wrong)}):"]
        lines += [
            f"  {'WRONG ' if not r.correct else ''}{r.note_id} {r.code}: gold {sorted(r.gold_reasons)} found {sorted(r.reasons)}"
            for r in wrong
        ]
    return "\n".join(lines)

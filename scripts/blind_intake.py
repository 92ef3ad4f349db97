"""Take blind-written notes into corpus/blind/: the steps of the blind loop.

1. ``reader-input WRITER_NOTES OUT``: the notes as the second reader gets them,
   with every label, reason, trap and explanation taken out.
2. ``merge WRITER_NOTES READINGS OUT DISAGREEMENTS``: the corpus records, each
   97124/97140 line keeping the writer's and the reader's labels
   (``blind.writer``, ``blind.reader``); where they agree that is the label;
   where they differ the line goes to DISAGREEMENTS for settling from the rubric (docs/rubric.md).
3. ``settle OUT SETTLED``: write the settled labels (a JSONL of
   ``{"note_id", "index", "label", "reasons", "warnings", "why"}``).
4. ``split OUT --splits corpus/blind/splits.json [--test-only]``: put each new
   chart (or lone note) in dev or test, by a hash of its key (half and half),
   or all in test for a confirmation round; keys already placed never move.
5. ``precision WRITER_NOTES OUT``: a precision writer's notes (other specialties)
   as corpus records, their real techniques (rarely any) as gold entities.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

MUSCLE_WORK = {"97124", "97140"}
READER_FIELDS = ("note_id", "chart_id", "date", "text", "billed", "provider_credential", "payer")
LINE_FIELDS = ("code", "modifiers", "units", "minutes")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as stream:
        stream.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def reader_input(note: dict[str, Any]) -> dict[str, Any]:
    record = {key: note.get(key) for key in READER_FIELDS}
    record["billed"] = [{k: line[k] for k in LINE_FIELDS if k in line} for line in note["billed"]]
    return record


def verdict(line: dict[str, Any]) -> dict[str, Any]:
    return {"label": line["label"], "reasons": sorted(line.get("reasons", [])), "warnings": sorted(line.get("warnings", []))}


def corpus_record(note: dict[str, Any], reading: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The corpus record of one note, and its lines where writer and reader disagree."""
    read = {line["index"]: line for line in reading["lines"]}
    billed, disagreements = [], []
    for index, line in enumerate(note["billed"]):
        line = dict(line)
        if str(line["code"]) in MUSCLE_WORK:
            writer, reader = verdict(line), verdict(read[index])
            line["blind"] = {"writer": writer, "reader": reader}
            if writer["label"] != reader["label"] or writer["reasons"] != reader["reasons"]:
                disagreements.append({
                    "note_id": note["note_id"], "index": index, "code": line["code"],
                    "writer": writer, "writer_why": note.get("why"), "reader": reader, "reader_why": read[index].get("why"),
                })
        billed.append(line)
    record = {key: note.get(key) for key in READER_FIELDS}
    record.update(
        billed=billed, source="blind", writer=note["writer"], style=note.get("format"),
        trap=note.get("trap"), why=note.get("why"), gold_entities=note.get("techniques", []),
    )
    return record, disagreements


def merge(notes_path: Path, readings_path: Path, out: Path, disagreements_path: Path) -> None:
    readings = {r["note_id"]: r for r in read_jsonl(readings_path)}
    records, disagreements = [], []
    for note in read_jsonl(notes_path):
        record, differ = corpus_record(note, readings[note["note_id"]])
        records.append(record)
        disagreements += differ
    write_jsonl(out, records)
    write_jsonl(disagreements_path, disagreements)
    print(f"{len(records)} notes; {len(disagreements)} lines to settle -> {disagreements_path}")


def settle(out: Path, settled_path: Path) -> None:
    settled = {(s["note_id"], s["index"]): s for s in read_jsonl(settled_path)}
    records = read_jsonl(out)
    for record in records:
        for index, line in enumerate(record["billed"]):
            decision = settled.pop((record["note_id"], index), None)
            if decision:
                line.update(label=decision["label"], reasons=decision["reasons"], warnings=decision["warnings"])
                line["blind"]["settled"] = decision["why"]
    if settled:
        raise SystemExit(f"settled lines not found in {out}: {sorted(settled)}")
    write_jsonl(out, records)


def precision_record(note: dict[str, Any]) -> dict[str, Any]:
    return {
        "note_id": note["note_id"], "text": note["text"], "source": "blind-precision", "writer": note["note_id"].split("-")[0],
        "specialty": note.get("specialty"), "style": note.get("format"), "false_friends": note.get("false_friends", []),
        "gold_entities": note.get("techniques", []),
    }


def place(key: str) -> str:
    return "test" if int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2 else "dev"


def split(out: Path, splits_path: Path, test_only: bool) -> None:
    splits = json.loads(splits_path.read_text("utf-8")) if splits_path.exists() else {}
    placed = {key for keys in splits.values() if isinstance(keys, list) for key in keys}
    for record in read_jsonl(out):
        key = str(record.get("chart_id") or record["note_id"])
        if key not in placed:
            splits.setdefault("test" if test_only else place(key), []).append(key)
            placed.add(key)
    splits_path.write_text(json.dumps(splits, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    steps = parser.add_subparsers(dest="step", required=True)
    p = steps.add_parser("reader-input")
    p.add_argument("notes", type=Path)
    p.add_argument("out", type=Path)
    p = steps.add_parser("merge")
    for name in ("notes", "readings", "out", "disagreements"):
        p.add_argument(name, type=Path)
    p = steps.add_parser("settle")
    p.add_argument("out", type=Path)
    p.add_argument("settled", type=Path)
    p = steps.add_parser("split")
    p.add_argument("out", type=Path)
    p.add_argument("--splits", type=Path, default=Path("corpus/blind/splits.json"))
    p.add_argument("--test-only", action="store_true")
    p = steps.add_parser("precision")
    p.add_argument("notes", type=Path)
    p.add_argument("out", type=Path)
    args = parser.parse_args()
    if args.step == "reader-input":
        write_jsonl(args.out, [reader_input(n) for n in read_jsonl(args.notes)])
    elif args.step == "merge":
        merge(args.notes, args.readings, args.out, args.disagreements)
    elif args.step == "precision":
        write_jsonl(args.out, [precision_record(n) for n in read_jsonl(args.notes)])
    elif args.step == "settle":
        settle(args.out, args.settled)
    else:
        split(args.out, args.splits, args.test_only)


if __name__ == "__main__":
    main()

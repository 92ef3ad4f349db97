"""The blind loop's figures: per-writer accuracy and gap, agreement, invented techniques."""

from __future__ import annotations

import json
from pathlib import Path

from notes_nlp.corpus.blind import (
    BlindNote, agreement, invented_techniques, line_results, load_blind, load_precision, report, roc_auc, writer_order,
)


def note(note_id: str, writer: str, label: str, reasons: list[str], writer_label: str | None = None) -> dict:
    line = {"code": "97140", "units": 1, "label": label, "reasons": reasons,
            "blind": {"writer": {"label": writer_label or label, "reasons": reasons}, "reader": {"label": label, "reasons": reasons}}}
    return {"note_id": note_id, "text": "STM R UT 10 min.", "billed": [line], "writer": writer, "source": "blind"}


def scored(note_id: str, errors: list[str], score: float) -> dict:
    findings = [{"rule": rule, "severity": "error"} for rule in errors]
    return {"note_id": note_id, "lines": [{"billed_index": 0, "findings": findings, "score": score}], "entities": []}


def test_line_results_compare_the_rules_verdict_with_the_settled_label():
    notes = [BlindNote(note("a", "w1", "supported", []), "dev"), BlindNote(note("b", "w1", "unsupported", ["no-goal"]), "test")]
    results = line_results(notes, [scored("a", ["no-goal"], 0.2), scored("b", ["no-goal"], 0.1)])
    assert [r.correct for r in results] == [False, True]
    assert [r.split for r in results] == ["dev", "test"]


def test_roc_auc_counts_ties_half():
    notes = [BlindNote(note(i, "w", lab, [] if lab == "supported" else ["x"]), "test") for i, lab in (("a", "supported"), ("b", "unsupported"))]
    assert roc_auc(line_results(notes, [scored("a", [], 0.9), scored("b", ["x"], 0.1)])) == 1.0
    assert roc_auc(line_results(notes, [scored("a", [], 0.5), scored("b", ["x"], 0.5)])) == 0.5


def test_agreement_is_writer_against_reader_before_settling():
    settled = note("a", "w1", "unsupported", ["no-goal"], writer_label="supported")
    found = agreement([BlindNote(settled, "dev"), BlindNote(note("b", "w1", "supported", []), "dev")])["w1"]
    assert (found.lines, found.verdicts) == (2, 1)
    assert found.settled_for["reader"] == 1


def test_a_technique_marked_real_is_not_invented():
    record = {"gold_entities": [{"label": "MANUAL_TECHNIQUE", "start": 0, "end": 3, "text": "STM", "status": "historical"}]}
    found = [{"label": "MANUAL_TECHNIQUE", "start": 0, "end": 3, "status": "performed"},
             {"label": "MASSAGE_TECHNIQUE", "start": 20, "end": 28, "status": "performed"},
             {"label": "MASSAGE_TECHNIQUE", "start": 30, "end": 38, "status": "negated"}]
    assert [e["start"] for e in invented_techniques(record, found)] == [20]


def test_the_folder_loads_with_its_splits_and_the_report_prints_the_gap(tmp_path: Path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "precision").mkdir()
    (tmp_path / "notes" / "w1.jsonl").write_text(json.dumps(note("a", "w1", "supported", [])) + "\n" + json.dumps(note("b", "w1", "supported", [])) + "\n")
    (tmp_path / "precision" / "p1.jsonl").write_text(json.dumps({"note_id": "p1-001", "text": "x", "gold_entities": []}) + "\n")
    (tmp_path / "splits.json").write_text(json.dumps({"dev": ["a", "p1-001"], "test": ["b"]}))
    notes = load_blind(tmp_path)
    assert [(n.record["note_id"], n.split) for n in notes] == [("a", "dev"), ("b", "test")]
    precision = load_precision(tmp_path)
    text = report(notes, [scored("a", [], 0.9), scored("b", ["no-goal"], 0.2)], precision, [[]], mistakes_of="dev")
    assert "| w1 | 1 | 1.000 | 1 | 0.000 | +1.000 |" in text
    assert "dev: 0 of 1 (0.0%)" in text


def test_writers_are_listed_in_the_order_they_wrote():
    assert sorted(["cw10", "bw2", "cw2", "pw1", "cw1"], key=writer_order) == ["bw2", "cw1", "cw2", "cw10", "pw1"]

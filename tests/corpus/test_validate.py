"""The corpus validator passes on the shipped corpus and catches what it is for."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from notes_nlp.corpus.validate import validate

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
TEXT = (
    "Tx: MFR to R upper trap 12 min to restore cervical rotation. Goal: rotation 70° in 4 wks. Dx M54.2. "
    "S: pt reports neck pain 5/10 after a long shift at the desk, worse turning to check the blind spot while driving. "
    "O: cervical rotation R 45°, L 60°, upper trap and levator hypertonic, tender to palpation on the right. "
    "A: cervicalgia with soft tissue restriction limiting rotation. P: 2x/wk for 4 wks, HEP chin tucks."
)
NOTE = {
    "note_id": "n-1", "chart_id": None, "date": "2026-01-05", "text": TEXT,
    "billed": [{"code": "97140", "units": 1, "label": "supported", "reasons": [], "warnings": []}],
    "provider_credential": "PT", "payer": "cms", "source": "handwritten", "writer": "w-train", "style": "soap",
    "gold_entities": [{"label": "MANUAL_TECHNIQUE", "start": 4, "end": 7, "text": "MFR", "status": "performed"}],
}
OTHER = dict(NOTE, note_id="n-2", writer="w-test", text="S: knee pain 4/10. Effleurage to R quads 10 min to reduce edema, girth 41 cm.",
             gold_entities=[{"label": "MASSAGE_TECHNIQUE", "start": 19, "end": 29, "text": "Effleurage", "status": "performed"}],
             billed=[{"code": "97124", "units": 1, "label": "supported", "reasons": [], "warnings": ["no-diagnosis"]}])


def write_corpus(folder: Path, notes: list[dict]) -> Path:
    (folder / "handwritten").mkdir(parents=True)
    (folder / "handwritten" / "notes.jsonl").write_text("".join(json.dumps(n) + "\n" for n in notes))
    (folder / "splits.json").write_text(json.dumps({"train": ["w-train"], "dev": [], "test": ["w-test"]}))
    return folder


def test_the_shipped_corpus_is_valid():
    assert validate(CORPUS) == []


def test_a_clean_corpus_passes(tmp_path):
    assert validate(write_corpus(tmp_path, [NOTE, OTHER])) == []


def test_catches_a_broken_offset(tmp_path):
    broken = copy.deepcopy(NOTE)
    broken["gold_entities"][0]["start"] = 5
    problems = validate(write_corpus(tmp_path, [broken, OTHER]))
    assert any("text[5:7]" in p for p in problems), problems


def test_catches_an_unknown_rule_id(tmp_path):
    broken = copy.deepcopy(NOTE)
    broken["billed"][0].update(label="unsupported", reasons=["no-such-rule"])
    problems = validate(write_corpus(tmp_path, [broken, OTHER]))
    assert any("unknown error rule id 'no-such-rule'" in p for p in problems), problems


def test_catches_a_label_that_disagrees_with_its_reasons(tmp_path):
    broken = copy.deepcopy(NOTE)
    broken["billed"][0]["reasons"] = ["no-goal"]
    problems = validate(write_corpus(tmp_path, [broken, OTHER]))
    assert any("disagrees with reasons" in p for p in problems), problems


def test_catches_a_leaked_near_duplicate(tmp_path):
    leaked = dict(NOTE, note_id="n-3", writer="w-test", text=TEXT.replace("12 min", "13 min"))
    problems = validate(write_corpus(tmp_path, [NOTE, OTHER, leaked]))
    assert any("leakage across splits" in p for p in problems), problems


def test_catches_generated_notes_in_test_and_unknown_writers(tmp_path):
    generated = dict(OTHER, note_id="n-4", source="generated", text="Petrissage to L calf 8 min, pain 3/10, to relieve spasm after run.",
                     gold_entities=[])
    stranger = dict(NOTE, note_id="n-5", writer="nobody", text="STM to L shoulder 10 min, ER 40°, goal reach overhead in 3 wks.")
    problems = validate(write_corpus(tmp_path, [NOTE, OTHER, generated, stranger]))
    assert any("test split holds hand-written notes only" in p for p in problems), problems
    assert any("is in no split" in p for p in problems), problems


@pytest.mark.parametrize("field", ["note_id", "text", "payer", "writer"])
def test_catches_a_missing_field(tmp_path, field):
    broken = {k: v for k, v in NOTE.items() if k != field}
    assert any(f"missing field {field!r}" in p for p in validate(write_corpus(tmp_path, [broken, OTHER])))

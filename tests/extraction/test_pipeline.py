"""The pipeline as a whole: it saves and loads like any spaCy pipeline, and its rule files are sound."""

from __future__ import annotations

import json
from pathlib import Path

import spacy

from notes_nlp.extraction.records import entity_records
from notes_nlp.extraction.resources import pattern_files, read_jsonl
from notes_nlp.labels import LABELS

NOTE = (
    "S: neck pain 6/10 after MVA. Hx of massage last year.\n"
    "Tx: MFR to L upper trap x 12 min, Gr III PA glides C5-6 8 min. Pt declined STM.\n"
    "CMT: adjusted T4, R SI (98940). 97140-59 x1\n"
    "A: cervicalgia M54.2, ROM improved from 40° to 55°.\n"
    "Goals: LTG: cervical rotation 70° by discharge.\n"
    "P: consider MLD next visit.\nSigned: A. Smith, DC"
)


def test_round_trip_to_disk_and_spacy_load(nlp, tmp_path):
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.pipe_names == nlp.pipe_names
    assert entity_records(loaded(NOTE)) == entity_records(nlp(NOTE))


def test_meta_records_the_package_version(nlp):
    import notes_nlp

    assert nlp.meta["version"] == notes_nlp.__version__


def test_every_pattern_file_loads_and_has_patterns():
    names = pattern_files()
    assert names, "no pattern files bundled"
    for name in names:
        patterns = list(read_jsonl(name))
        assert patterns, f"{name} is empty"
        assert all({"label", "pattern", "id"} <= set(p) for p in patterns), f"{name}: every pattern needs label, pattern, id"


def test_every_label_fires_on_a_case_and_stays_silent_on_a_near_miss(nlp):
    """Each label is found in the regression cases, and each is absent from a case that looks close."""
    cases = [
        json.loads(line)
        for path in sorted((Path(__file__).parent / "cases").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    fired = {want["label"] for case in cases for want in case.get("expect", [])}
    assert set(LABELS) <= fired, f"labels with no positive case: {sorted(set(LABELS) - fired)}"
    silent = {banned["label"] for case in cases for banned in case.get("absent", [])}
    assert set(LABELS) <= silent, f"labels with no near-miss case: {sorted(set(LABELS) - silent)}"


def test_empty_and_odd_texts_do_not_crash(nlp):
    for text in ["", " ", "\n\n", "[ ]", "97140", "x" * 10_000, "☐☑ — ° ×"]:
        entity_records(nlp(text))

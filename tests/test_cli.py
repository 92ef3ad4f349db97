"""The command line: scoring with a user's own payer profile, and clear errors."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from notes_nlp.cli import app

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "corpus" / "samples" / "notes.jsonl"
PAYERS = resources.files("notes_nlp.rules").joinpath("payers")


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_score_with_a_users_payer_file(tmp_path):
    profile = json.loads((PAYERS / "commercial-strict.json").read_text())
    profile.update(name="acme-health", version="7", paid_credentials={"97124": ["DC"], "97140": ["DC"]})
    (tmp_path / "acme.json").write_text(json.dumps(profile))
    result = run("score", str(SAMPLES), "-o", str(tmp_path / "out.jsonl"), "--payer-file", str(tmp_path / "acme.json"), "--rules-only")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(records) == 5
    assert all(r["payer_profile"] == {"name": "acme-health", "version": "7"} for r in records)
    first = records[0]["lines"][0]  # performed by a PT: acme pays DCs only
    assert "provider-not-covered" in [f["rule"] for f in first["findings"]]


def test_a_broken_payer_file_names_the_field(tmp_path):
    profile = json.loads((PAYERS / "cms.json").read_text())
    profile.update(name="bad", unit_rule="pooled")
    (tmp_path / "bad.json").write_text(json.dumps(profile))
    result = run("score", str(SAMPLES), "--payer-file", str(tmp_path / "bad.json"), "--rules-only")
    assert result.exit_code == 2
    assert "bad.json" in result.output and "unit_rule" in result.output


def test_missing_input_is_a_clear_error():
    result = run("score", "no-such-file.jsonl")
    assert result.exit_code == 2 and "input file not found" in result.output


def test_bad_records_become_errors_and_the_rest_is_scored(tmp_path):
    good = SAMPLES.read_text().splitlines()[0]
    (tmp_path / "in.jsonl").write_bytes(b"{not json\n" + good.encode() + b"\n\xff\xfe\n" + b'{"note_id": "x", "text": ""}\n')
    result = run("score", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl"), "--rules-only")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [bool(r["error"]) for r in records] == [True, False, True, True]
    assert "line 1: invalid JSON" in records[0]["error"] and "not UTF-8" in records[2]["error"] and "empty text" in records[3]["error"]


GOOD_NOTE = (
    "S: neck pain 5/10, can't check blind spot. O: cervical rotation R 45°. Dx M54.2 cervicalgia.\n"
    "Tx: MFR to R upper trapezius and levator 12 min to restore cervical rotation.\n"
    "Goal: rotation 70° and check blind spot without pain in 4 wks."
)


def test_check_exit_codes_on_three_notes(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text(GOOD_NOTE)
    supported = run("check", str(good), "--billed", "97140x1")
    assert supported.exit_code == 0, supported.output
    assert "97140 x1: SUPPORTED" in supported.output

    weak = tmp_path / "weak.txt"
    weak.write_text("Manual tx to low back 25 min for relaxation.")
    unsupported = run("check", str(weak), "--billed", "97140x2", "--credential", "DC")
    assert unsupported.exit_code == 1
    assert "UNSUPPORTED" in unsupported.output and "name the technique" in unsupported.output

    bad = tmp_path / "bad.json"
    bad.write_text('{"note_id": "n1", "text": ""}')
    invalid = run("check", str(bad))
    assert invalid.exit_code == 2 and "empty text" in invalid.output


def test_check_reads_a_json_record_and_prints_json(tmp_path):
    record = {"note_id": "n1", "text": GOOD_NOTE, "billed": [{"code": "97140", "units": 1}], "payer": "cms"}
    (tmp_path / "note.json").write_text(json.dumps(record))
    result = run("check", str(tmp_path / "note.json"), "--json")
    assert result.exit_code == 0
    assert json.loads(result.output)["lines"][0]["verdict"] == "supported"


def test_check_without_a_muscle_work_line_says_what_to_pass(tmp_path):
    (tmp_path / "note.txt").write_text(GOOD_NOTE)
    result = run("check", str(tmp_path / "note.txt"), "--billed", "98940")
    assert result.exit_code == 2 and "--billed" in result.output


def test_scheduler_needs_the_dask_engine():
    result = run("score", str(SAMPLES), "--scheduler", "tcp://127.0.0.1:8786")
    assert result.exit_code == 2 and "--engine dask" in result.output


def test_the_dask_engine_without_dask_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.delitem(sys.modules, "notes_nlp.engines.dask", raising=False)
    for name in ("dask", "dask.distributed", "distributed"):
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    result = run("score", str(SAMPLES), "--rules-only", "--engine", "dask")
    assert result.exit_code == 2 and "pip install 'notes-nlp[dask]'" in result.output


def test_check_reads_a_json_record_saved_with_a_byte_order_mark_or_as_utf_16(tmp_path):
    record = json.dumps({"note_id": "n1", "text": GOOD_NOTE, "billed": [{"code": "97140", "units": 1}]})
    for name, data in (("bom.json", b"\xef\xbb\xbf" + record.encode()), ("utf16.json", record.encode("utf-16"))):
        (tmp_path / name).write_bytes(data)
        result = run("check", str(tmp_path / name), "--json", "--rules-only")
        assert result.exit_code == 0 and json.loads(result.output)["note_id"] == "n1", result.output


def test_check_of_a_hostile_record_is_a_message_not_a_traceback(tmp_path):
    for body, says in [('"units": ' + "9" * 5000, "billed[0].units"), ('"units": NaN', "billed[0].units"),
                       ('"units": 1, "x": ' + "[" * 5000 + "]" * 5000, "nested deeper"), ('"units": 1}], "payer": "/etc/passwd", "x": [{"y": 1', "payer")]:
        (tmp_path / "note.json").write_text('{"note_id": "n1", "text": "MFR 12 min", "billed": [{"code": "97140", ' + body + "}]}")
        result = run("check", str(tmp_path / "note.json"))
        assert result.exit_code == 2 and says in result.output and result.exception.__class__ is SystemExit, result.output


@pytest.mark.slow
def test_corpus_blind_prints_every_writer_s_dev_and_test_accuracy():
    result = run("corpus", "blind", str(ROOT / "corpus" / "blind"), "--mistakes", "none")
    assert result.exit_code == 0, result.output
    writers = {path.stem for path in (ROOT / "corpus" / "blind" / "notes").glob("*.jsonl")}
    rows = [line.split("|")[1].strip() for line in result.output.splitlines() if line.startswith("| ") and "writer" not in line]
    assert set(rows) == writers | {"all"}
    assert "Precision set" in result.output and "Writer and second reader" in result.output

"""The command line: scoring with a user's own payer profile, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from notes_nlp.cli import app

SAMPLES = Path(__file__).resolve().parents[1] / "corpus" / "samples" / "notes.jsonl"
PAYERS = Path(__file__).resolve().parents[1] / "notes_nlp" / "rules" / "payers"


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

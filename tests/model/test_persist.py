"""A model folder is read as data: nothing in it can run, and a malformed one says what is wrong."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from notes_nlp.cli import app
from notes_nlp.model.persist import SHIPPED_MODEL, ModelError, load_model

SAMPLES = Path(__file__).resolve().parents[2] / "corpus" / "samples" / "notes.jsonl"


@pytest.fixture()
def model_copy(tmp_path):
    folder = tmp_path / "model"
    with resources.as_file(SHIPPED_MODEL) as shipped:
        shutil.copytree(shipped, folder)
    return folder


class CreatesAFile:
    """Unpickled, this calls open(path, "w"): the file appears only if the pickle was loaded."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return open, (str(self.path), "w")


def rehash(folder: Path, data: bytes) -> None:
    """Replace model.json and record its new hash, as whoever can write the folder would."""
    (folder / "model.json").write_bytes(data)
    meta = json.loads((folder / "meta.json").read_text())
    meta["sha256"] = hashlib.sha256(data).hexdigest()
    (folder / "meta.json").write_text(json.dumps(meta))


def test_the_shipped_model_loads(model_copy):
    model = load_model(model_copy)
    assert 0 < model.threshold < 1


def test_a_pickle_in_place_of_the_model_is_refused_and_never_run(model_copy, tmp_path):
    """The model replaced by a pickle that would create a file, its hash updated to match, and a
    model.joblib beside it: scoring refuses with a message, and the file is never created."""
    made = tmp_path / "made-by-the-pickle"
    payload = pickle.dumps(CreatesAFile(made))
    rehash(model_copy, payload)
    (model_copy / "model.joblib").write_bytes(payload)
    with pytest.raises(ModelError, match="not UTF-8 text .*a pickle is refused, never loaded"):
        load_model(model_copy)
    result = CliRunner().invoke(app, ["score", str(SAMPLES), "--model", str(model_copy), "-o", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 2 and "model.json: not UTF-8" in result.output and "Traceback" not in result.output
    assert not made.exists()
    pickle.loads(payload).close()  # the pickle does create the file when it is loaded
    assert made.exists()


def test_an_old_folder_with_only_a_pickle_says_to_retrain(model_copy):
    (model_copy / "model.json").unlink()
    (model_copy / "model.joblib").write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(ModelError, match="holds model.joblib, a pickle of an older notes-nlp, which is not loaded"):
        load_model(model_copy)


def test_a_tampered_file_is_refused(model_copy):
    path = model_copy / "model.json"
    path.write_text(path.read_text().replace('"format": 1', '"format":  1'))
    with pytest.raises(ModelError, match="does not match"):
        load_model(model_copy)


def test_a_model_trained_with_another_scikit_learn_loads_and_scores_the_same(model_copy):
    """The parameters are data: the version that trained them is a record, not a condition."""
    before = load_model(model_copy)
    meta = json.loads((model_copy / "meta.json").read_text())
    meta["versions"]["scikit-learn"] = "0.1.0"
    (model_copy / "meta.json").write_text(json.dumps(meta))
    after = load_model(model_copy)
    examples = [{"facts": {"code": "97140", "goals": 1.0, "errors": 0.0}, "text": ""}]
    assert after.probability(examples).tolist() == before.probability(examples).tolist()


def test_the_shipped_model_is_read_from_the_package():
    model = load_model()
    assert model.path == SHIPPED_MODEL and model.name == "notes-nlp line model"


def test_a_folder_without_a_model_says_how_to_make_one(tmp_path):
    with pytest.raises(ModelError, match="notes-nlp train"):
        load_model(tmp_path)


@pytest.mark.parametrize("meta, says", [
    (b"", "the file is empty"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"[1, 2]", "must be a JSON object, got an array"),
    (b'{"sha256": 5}', "sha256 must be the 64 hex digits"),
    ("{sha}", "thresholds must be an object"),
    ('{sha, "versions": {"scikit-learn": "1.9.1"}, "thresholds": {"at_risk_below": "0.5"}}', "at_risk_below, a probability"),
    ('{sha, "versions": {"scikit-learn": "1.9.1"}, "thresholds": {"at_risk_below": 1e400}}', "at_risk_below, a probability"),
    ('{sha, "versions": {"scikit-learn": "1.9.1"}, "thresholds": {"at_risk_below": 0.5}, "created": 7}', "created must be a string"),
    (b'{"sha256": ' + b"[" * 100_000, "not valid JSON"),
])
def test_a_malformed_meta_json_says_what_is_wrong(model_copy, meta, says):
    digest = json.loads((model_copy / "meta.json").read_text())["sha256"]
    data = meta.replace("{sha", '{"sha256": "' + digest + '"').encode() if isinstance(meta, str) else meta
    (model_copy / "meta.json").write_bytes(data)
    with pytest.raises(ModelError, match=says) as info:
        load_model(model_copy)
    assert str(info.value).startswith(str(model_copy / "meta.json"))


@pytest.mark.parametrize("change, says", [
    (lambda m: [], "must hold a JSON object"),
    (lambda m: {**m, "format": 2}, "format must be 1"),
    (lambda m: {**m, "features": "facts"}, "features must be a list of objects"),
    (lambda m: {**m, "features": []}, "features must name facts"),
    (lambda m: {**m, "features": m["features"] * 2}, "features must be"),
    (lambda m: {**m, "regression": {**m["regression"], "coefficients": m["regression"]["coefficients"][:-1]}}, "one number per feature column"),
    (lambda m: {**m, "regression": {**m["regression"], "intercept": "big"}}, "regression.intercept must be a finite number"),
    (lambda m: {**m, "regression": {**m["regression"], "intercept": 10 ** 400}}, "regression.intercept must be a finite number"),
    (lambda m: {**m, "calibration": {"method": "isotonic"}}, "calibration.method must be 'sigmoid'"),
    (lambda m: {**m, "calibration": {**m["calibration"], "a": None}}, "calibration.a must be a finite number"),
    (lambda m: {**m, "features": [{**m["features"][0], "feature_names": [1, 2]}]}, "feature_names must be a list of strings"),
    (lambda m: {**m, "features": [{**m["features"][0], "weight": 2.0}]}, "weight must be 1.0"),
])
def test_a_malformed_model_json_says_what_is_wrong(model_copy, change, says):
    data = json.loads((model_copy / "model.json").read_text())
    rehash(model_copy, json.dumps(change(data)).encode())
    with pytest.raises(ModelError, match=says):
        load_model(model_copy)


def test_an_empty_model_file_says_why(model_copy, tmp_path):
    rehash(model_copy, b"")
    result = CliRunner().invoke(app, ["check", "--model", str(model_copy), "--billed", "97140x1"], input="MFR to R UT 10 min.")
    assert result.exit_code == 2 and "model.json: the file is empty" in result.output

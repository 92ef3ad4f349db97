"""A model file is pickle: it is loaded only when its recorded hash and versions match."""

from __future__ import annotations

import json
import shutil

import pytest

from notes_nlp.model.persist import DEFAULT_MODEL_DIR, ModelError, load_model


@pytest.fixture()
def model_copy(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, folder)
    return folder


def test_the_shipped_model_loads(model_copy):
    model = load_model(model_copy)
    assert 0 < model.threshold < 1


def test_a_tampered_file_is_refused(model_copy):
    path = model_copy / "model.joblib"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match"):
        load_model(model_copy)


def test_another_scikit_learn_version_is_refused(model_copy):
    meta = json.loads((model_copy / "meta.json").read_text())
    meta["versions"]["scikit-learn"] = "0.1.0"
    (model_copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="scikit-learn 0.1.0"):
        load_model(model_copy)


def test_a_folder_without_a_model_says_how_to_make_one(tmp_path):
    with pytest.raises(ModelError, match="notes-nlp train"):
        load_model(tmp_path)


def test_a_model_made_from_parts_this_version_lacks_says_to_retrain(model_copy, monkeypatch):
    import sys
    import types

    import joblib

    from notes_nlp.model.persist import sha256

    gone = types.ModuleType("notes_nlp_gone_part")
    exec("def select(examples):\n    return examples\n", gone.__dict__)
    monkeypatch.setitem(sys.modules, "notes_nlp_gone_part", gone)
    joblib.dump(gone.select, model_copy / "model.joblib")
    monkeypatch.delitem(sys.modules, "notes_nlp_gone_part")
    meta = json.loads((model_copy / "meta.json").read_text())
    meta["sha256"] = sha256(model_copy / "model.joblib")
    (model_copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="retrain with `notes-nlp train`"):
        load_model(model_copy)

"""`notes-nlp train` and `notes-nlp evaluate` run end to end on a small labeled file."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from notes_nlp.cli import app
from notes_nlp.corpus.load import split_notes
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


def labeled_file(tmp_path, split: str, count: int):
    path = tmp_path / f"{split}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in split_notes(CORPUS, split)[:count]))
    return path


def test_evaluate_prints_metrics_baselines_and_plots(tmp_path):
    result = CliRunner().invoke(app, ["evaluate", str(labeled_file(tmp_path, "dev", 80)), "--plots", str(tmp_path / "plots")])
    assert result.exit_code == 0, result.output
    for name in ("model:", "keyword checklist:", "rules only:", "text n-grams only:", "ROC AUC", "Brier", "confusion"):
        assert name in result.output
    assert (tmp_path / "plots" / "calibration.png").stat().st_size > 1000
    assert (tmp_path / "plots" / "roc.png").stat().st_size > 1000


def test_train_writes_a_loadable_model_with_its_card(tmp_path):
    result = CliRunner().invoke(app, ["train", str(labeled_file(tmp_path, "train", 150)), "-o", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert "cross-validation" in result.output
    meta = json.loads((tmp_path / "m" / "meta.json").read_text())
    assert meta["training"]["lines"] > 100 and meta["thresholds"]["set_on"] == "out-of-fold predictions"
    assert "Model card" in (tmp_path / "m" / "card.md").read_text()
    assert "n-grams" not in meta["features"] and step_names(tmp_path / "m") == ["facts"]


def test_train_with_text_features_joins_the_n_grams(tmp_path):
    result = CliRunner().invoke(app, ["train", str(labeled_file(tmp_path, "train", 150)), "-o", str(tmp_path / "m"), "--text-features"])
    assert result.exit_code == 0, result.output
    assert "n-grams" in json.loads((tmp_path / "m" / "meta.json").read_text())["features"]
    assert "n-grams" in (tmp_path / "m" / "card.md").read_text()
    assert step_names(tmp_path / "m") == ["facts", "words", "chars"]


def step_names(model_dir: Path) -> list[str]:
    from notes_nlp.model.persist import load_model

    return load_model(model_dir).fitted.features.part_names


def test_a_tampered_model_stops_evaluate_with_a_clear_message(tmp_path):
    import shutil
    from importlib import resources

    from notes_nlp.model.persist import SHIPPED_MODEL

    with resources.as_file(SHIPPED_MODEL) as shipped:
        shutil.copytree(shipped, tmp_path / "m")
    (tmp_path / "m" / "model.json").write_bytes(b"not the model")
    result = CliRunner().invoke(app, ["evaluate", str(labeled_file(tmp_path, "dev", 5)), "--model", str(tmp_path / "m")])
    assert result.exit_code == 2 and "does not match" in result.output

"""Saving and loading a model directory safely.

A joblib file is a pickle: loading it runs code. So a model directory holds
``model.joblib`` beside ``meta.json``, which records the file's sha256 and
the library versions it was trained with; :func:`load_model` checks both
before it unpickles anything and refuses, with what to do, on a mismatch.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODEL_FILE = "model.joblib"
META_FILE = "meta.json"
CARD_FILE = "card.md"
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "default"
MODEL_ENV = "NOTES_NLP_MODEL"


class ModelError(Exception):
    """A model directory that cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Model:
    pipeline: Any
    meta: dict[str, Any]
    path: Path

    @property
    def threshold(self) -> float:
        """Below this probability a line without error findings is ``at_risk``."""
        return float(self.meta["thresholds"]["at_risk_below"])

    @property
    def name(self) -> str:
        return str(self.meta.get("name", self.path.name))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    import joblib
    import sklearn
    import spacy

    import notes_nlp

    return {"scikit-learn": sklearn.__version__, "joblib": joblib.__version__, "spacy": spacy.__version__, "notes-nlp": notes_nlp.__version__}


def default_model_dir() -> Path:
    """``$NOTES_NLP_MODEL`` when set, else the model shipped in the repository's ``models/default``."""
    return Path(os.environ.get(MODEL_ENV) or DEFAULT_MODEL_DIR)


def save_model(pipeline: Any, meta: dict[str, Any], folder: Path, card: str) -> Path:
    import joblib

    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, folder / MODEL_FILE, compress=3)
    meta = {**meta, "sha256": sha256(folder / MODEL_FILE), "versions": library_versions()}
    (folder / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (folder / CARD_FILE).write_text(card, encoding="utf-8")
    return folder


def load_model(folder: str | Path | None = None) -> Model:
    """Load a model directory after checking its hash and scikit-learn version."""
    import sklearn

    folder = Path(folder) if folder else default_model_dir()
    meta_path, model_path = folder / META_FILE, folder / MODEL_FILE
    if not meta_path.is_file() or not model_path.is_file():
        raise ModelError(f"{folder}: not a model directory (needs {MODEL_FILE} and {META_FILE}); build one with `notes-nlp train` or `make model`")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(f"{meta_path}: not valid JSON ({exc.msg}); restore it or retrain") from exc
    actual = sha256(model_path)
    if actual != meta.get("sha256"):
        raise ModelError(
            f"{model_path}: sha256 {actual[:12]}… does not match {meta.get('sha256', 'nothing')[:12]}… recorded in {META_FILE}; "
            "the file changed after training and will not be loaded (it is a pickle and could run code). "
            "Restore it or retrain with `notes-nlp train`."
        )
    trained_with = meta.get("versions", {}).get("scikit-learn")
    if trained_with != sklearn.__version__:
        raise ModelError(
            f"{model_path}: trained with scikit-learn {trained_with}, this environment has {sklearn.__version__}; "
            "install the pinned versions (constraints.txt) or retrain."
        )
    import joblib

    try:
        pipeline = joblib.load(model_path)
    except (AttributeError, ModuleNotFoundError) as exc:  # a class or function the pickle names is gone
        raise ModelError(
            f"{model_path}: made with notes-nlp {meta.get('versions', {}).get('notes-nlp', '?')} from parts this "
            f"version does not have ({exc}); retrain with `notes-nlp train`."
        ) from exc
    return Model(pipeline, meta, folder)

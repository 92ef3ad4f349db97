"""Saving and loading a model directory, without ever running code from it.

A model directory holds ``model.json`` (the fitted parameters as data:
:mod:`notes_nlp.model.fitted`), ``meta.json`` (thresholds, training data's
digest, metrics, the library versions, the sha256 of model.json) and
``card.md``. The default model ships inside the package (``notes_nlp/model/default``)
and is read as a package resource, so an installed wheel scores from any
folder. Loading reads JSON only: a pickle put in their place is not
JSON, and is refused with a message like any other malformed file; a
``model.joblib`` of an older notes-nlp is never opened. Every field that
scoring and the service read is checked, so a hand-edited or truncated file
gives a message saying what to fix, never a traceback. The hash catches a
model.json changed after training by mistake; it is no defence against
someone who can write the folder, and needs to be none, since nothing in the
folder can run.

Nothing in the folder depends on the scikit-learn that trained it: the
versions in meta.json are a record of the training run, not a condition of
loading (tests/model/test_probability.py holds the arithmetic to scikit-learn's
own ``predict_proba``; the wheel's smoke test loads it under the oldest
scikit-learn the package accepts).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from notes_nlp.io.values import json_kind, loads
from notes_nlp.model.fitted import BadModelData, FittedModel

MODEL_FILE = "model.json"
PICKLE_FILE = "model.joblib"  # what notes-nlp wrote before model.json; never loaded
META_FILE = "meta.json"
CARD_FILE = "card.md"
SHIPPED_MODEL: Traversable = resources.files(__package__).joinpath("default")
MODEL_ENV = "NOTES_NLP_MODEL"
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ModelError(Exception):
    """A model directory that cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Model:
    fitted: FittedModel
    meta: dict[str, Any]
    path: Traversable  # a folder, or the shipped model inside the installed package

    @property
    def threshold(self) -> float:
        """Below this probability a line without error findings is ``at_risk``."""
        return float(self.meta["thresholds"]["at_risk_below"])

    @property
    def name(self) -> str:
        return str(self.meta.get("name", self.path.name))

    def probability(self, examples: Sequence[dict[str, Any]]) -> np.ndarray:
        """The calibrated probability that each line example is supported."""
        return self.fitted.probability(examples)


def library_versions() -> dict[str, str]:
    import sklearn
    import spacy

    import notes_nlp

    return {"scikit-learn": sklearn.__version__, "spacy": spacy.__version__, "notes-nlp": notes_nlp.__version__}


def default_model_dir() -> Traversable:
    """``$NOTES_NLP_MODEL`` when set, else the model shipped inside the package."""
    chosen = os.environ.get(MODEL_ENV)
    return Path(chosen) if chosen else SHIPPED_MODEL


def save_model(pipeline: Any, meta: dict[str, Any], folder: Path, card: str) -> Path:
    """Write a fitted pipeline's parameters as data, its meta and its card."""
    folder.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(FittedModel.from_pipeline(pipeline).to_data(), ensure_ascii=False) + "\n").encode("utf-8")
    (folder / MODEL_FILE).write_bytes(data)
    meta = {**meta, "sha256": hashlib.sha256(data).hexdigest(), "versions": library_versions()}
    (folder / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (folder / CARD_FILE).write_text(card, encoding="utf-8")
    return folder


def load_model(folder: str | Path | Traversable | None = None) -> Model:
    """Load a model directory (a path, or a package resource such as :data:`SHIPPED_MODEL`): its
    meta checked, its hash matched, its parameters read as data. ModelError says what is wrong
    and what to do."""
    folder = Path(folder) if isinstance(folder, str) else folder or default_model_dir()
    meta_path, model_path = folder.joinpath(META_FILE), folder.joinpath(MODEL_FILE)
    if not model_path.is_file() and folder.joinpath(PICKLE_FILE).is_file():
        raise ModelError(
            f"{folder}: holds {PICKLE_FILE}, a pickle of an older notes-nlp, which is not loaded (loading a pickle runs "
            f"the code it names); retrain with `notes-nlp train` to write {MODEL_FILE}"
        )
    if not meta_path.is_file() or not model_path.is_file():
        raise ModelError(f"{folder}: not a model directory (needs {MODEL_FILE} and {META_FILE}); build one with `notes-nlp train` or `make model`")
    meta = _checked_meta(_json_file(meta_path), meta_path)
    data = model_path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != meta["sha256"]:
        raise ModelError(
            f"{model_path}: sha256 {actual[:12]}… does not match {meta['sha256'][:12]}… recorded in {META_FILE}: "
            "the file changed after training. Restore it or retrain with `notes-nlp train`."
        )
    try:
        fitted = FittedModel.from_data(_parsed(data, model_path))
    except BadModelData as exc:
        raise ModelError(f"{model_path}: {exc}; restore it or retrain with `notes-nlp train`") from None
    return Model(fitted, meta, folder)


def _json_file(path: Traversable) -> Any:
    return _parsed(path.read_bytes(), path)


def _parsed(data: bytes, path: Traversable) -> Any:
    """A model folder's JSON file, parsed; ModelError for one that is empty, not UTF-8 or not JSON
    (a pickle is neither)."""
    if not data.strip():
        raise ModelError(f"{path}: the file is empty; restore it or retrain with `notes-nlp train`")
    try:
        return loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ModelError(f"{path}: not UTF-8 text (byte {exc.start}), so not the JSON notes-nlp writes (a pickle is refused, "
                         "never loaded); restore it or retrain with `notes-nlp train`") from None
    except ValueError as exc:
        raise ModelError(f"{path}: not valid JSON ({exc}); restore it or retrain with `notes-nlp train`") from None


def _checked_meta(meta: Any, path: Traversable) -> dict[str, Any]:
    """The fields of meta.json that loading, scoring and the service read, checked."""
    problem = _meta_problem(meta)
    if problem:
        raise ModelError(f"{path}: {problem}; restore it or retrain with `notes-nlp train`")
    return meta


def _meta_problem(meta: Any) -> str | None:
    if not isinstance(meta, dict):
        return f"must be a JSON object, got {json_kind(meta)}"
    if not isinstance(meta.get("sha256"), str) or not _SHA256.fullmatch(meta["sha256"]):
        return "sha256 must be the 64 hex digits of model.json's sha256"
    thresholds = meta.get("thresholds")
    below = thresholds.get("at_risk_below") if isinstance(thresholds, dict) else None
    if isinstance(below, bool) or not isinstance(below, (int, float)) or not 0 <= below <= 1:
        return 'thresholds must be an object with at_risk_below, a probability from 0 to 1, like {"at_risk_below": 0.5}'
    for key in ("name", "created"):
        if key in meta and not isinstance(meta[key], str):
            return f"{key} must be a string"
    return None


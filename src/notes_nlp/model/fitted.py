"""A trained model as data: what scoring needs of the fitted pipeline, with no code in it.

A joblib file is a pickle, and loading a pickle runs whatever code it names: a
hash stored beside it proves nothing to whoever can write both. So a model
folder holds ``model.json``, plain numbers and strings: the feature parts (the
facts' feature names; for the n-grams, their vocabulary and idf weights), the
logistic regression's coefficients and intercept, and the sigmoid
calibration's ``a`` and ``b``. Loading checks every field, rebuilds the
vectorizers of :class:`~notes_nlp.model.pipeline.LineFeatures` (their settings
come from this code, never from the file) and fills them with those data.
:meth:`FittedModel.probability` is the arithmetic of the pipeline's
``predict_proba``: tests/model/test_fitted.py shows they give the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from scipy.special import expit

from notes_nlp.model.pipeline import LineFeatures

FORMAT = 1
TEXT_PARTS = ("words", "chars")


class BadModelData(ValueError):
    """model.json does not hold a model this code can compute; the message says which field."""


@dataclass(frozen=True)
class FittedModel:
    """A fitted :class:`LineFeatures`, the regression over its columns, and the sigmoid that
    makes the regression's score a calibrated probability of support."""

    features: LineFeatures
    coefficients: np.ndarray  # shape (columns, 1), as the regression's coef_.T
    intercept: float
    sigmoid: tuple[float, float]  # a, b: p = 1 / (1 + exp(a * score + b))

    @classmethod
    def from_pipeline(cls, pipeline: Any) -> "FittedModel":
        """The parts of a fitted ``build_pipeline`` pipeline that scoring needs."""
        classifier = pipeline.named_steps["classifier"]
        pairs = classifier.calibrated_classifiers_
        if len(pairs) != 1 or pairs[0].method != "sigmoid" or list(pairs[0].estimator.classes_) != [0, 1]:
            raise BadModelData("not a model notes-nlp trained (one sigmoid-calibrated regression of labels 0/1): retrain it with `notes-nlp train`")
        regression, [sigmoid] = pairs[0].estimator, pairs[0].calibrators
        return cls(pipeline.named_steps["features"], regression.coef_.T, float(regression.intercept_[0]), (float(sigmoid.a_), float(sigmoid.b_)))

    def probability(self, examples: Sequence[dict[str, Any]]) -> np.ndarray:
        """The calibrated probability that each line example (``line_example``) is supported:
        features, the regression's decision function, the sigmoid, as ``predict_proba`` computes
        them, without its input checks and metadata walk (4 ms for one note against 0.2 ms here,
        on a check at signing of about 10 ms)."""
        decision = (self.features.transform(list(examples)) @ self.coefficients).ravel() + self.intercept
        a, b = self.sigmoid
        return expit(-(a * decision + b))

    def to_data(self) -> dict[str, Any]:
        """The model as JSON-ready data (floats written by ``json`` round-trip exactly)."""
        a, b = self.sigmoid
        return {
            "format": FORMAT,
            "features": [_part_data(name, vectorizer, weight) for name, _, vectorizer, weight in self.features.parts_],
            "regression": {"coefficients": self.coefficients.ravel().tolist(), "intercept": self.intercept},
            "calibration": {"method": "sigmoid", "a": a, "b": b},
        }

    @classmethod
    def from_data(cls, data: Any) -> "FittedModel":
        """The model of :meth:`to_data`'s output, every field checked: BadModelData otherwise."""
        _expect(isinstance(data, dict), "the file must hold a JSON object")
        _expect(data.get("format") == FORMAT, f"format must be {FORMAT} (this notes-nlp's), got {_shown(data.get('format'))}")
        features = _features(data.get("features"))
        regression, calibration = _object(data, "regression"), _object(data, "calibration")
        coefficients = _numbers(regression.get("coefficients"), "regression.coefficients")
        columns = sum(len(vectorizer.vocabulary_) for _, _, vectorizer, _ in features.parts_)
        _expect(len(coefficients) == columns, f"regression.coefficients must have one number per feature column ({columns}), got {len(coefficients)}")
        _expect(calibration.get("method") == "sigmoid", f"calibration.method must be 'sigmoid', got {_shown(calibration.get('method'))}")
        sigmoid = (_number(calibration.get("a"), "calibration.a"), _number(calibration.get("b"), "calibration.b"))
        return cls(features, np.asarray(coefficients, dtype=np.float64).reshape(-1, 1), _number(regression.get("intercept"), "regression.intercept"), sigmoid)


def _part_data(name: str, vectorizer: Any, weight: float) -> dict[str, Any]:
    if name in TEXT_PARTS:
        terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
        return {"name": name, "weight": weight, "vocabulary": terms, "idf": vectorizer.idf_.tolist()}
    return {"name": name, "weight": weight, "feature_names": list(vectorizer.feature_names_)}


def _features(parts: Any) -> LineFeatures:
    """A fitted LineFeatures from the parts' data: the vectorizers this code makes, filled."""
    _expect(isinstance(parts, list) and all(isinstance(p, dict) for p in parts), "features must be a list of objects")
    names = [part.get("name") for part in parts]
    features = LineFeatures(text="words" in names, facts="facts" in names)
    try:
        expected = features.new_parts()
    except ValueError:
        raise BadModelData("features must name facts, words and chars, or some of them") from None
    _expect(names == [name for name, _, _, _ in expected], f"features must be {[name for name, _, _, _ in expected]} in this order, got {_shown(names)}")
    features.parts_ = [_filled(part, name, key, vectorizer, weight) for part, (name, key, vectorizer, weight) in zip(parts, expected)]
    return features


def _filled(part: dict[str, Any], name: str, key: str, vectorizer: Any, weight: float) -> tuple[str, str, Any, float]:
    where = f"features[{name}]"
    _expect(part.get("weight") == weight, f"{where}.weight must be {weight}, this code's weight, got {_shown(part.get('weight'))}: retrain")
    if name in TEXT_PARTS:
        terms = _strings(part.get("vocabulary"), f"{where}.vocabulary")
        idf = _numbers(part.get("idf"), f"{where}.idf")
        _expect(len(idf) == len(terms), f"{where}.idf must have one weight per term ({len(terms)}), got {len(idf)}")
        vectorizer.vocabulary_ = {term: column for column, term in enumerate(terms)}
        vectorizer.idf_ = np.asarray(idf, dtype=np.float64)
    else:
        names = _strings(part.get("feature_names"), f"{where}.feature_names")
        vectorizer.feature_names_ = names
        vectorizer.vocabulary_ = {feature: column for column, feature in enumerate(names)}
    return name, key, vectorizer, weight


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    _expect(isinstance(value, dict), f"{key} must be an object, got {_shown(value)}")
    return value


def _strings(value: Any, where: str) -> list[str]:
    _expect(isinstance(value, list) and all(isinstance(v, str) for v in value), f"{where} must be a list of strings")
    _expect(len(set(value)) == len(value), f"{where} must not repeat a name")
    return value


def _numbers(value: Any, where: str) -> list[float]:
    _expect(isinstance(value, list), f"{where} must be a list of numbers")
    return [_number(v, f"{where}[{i}]") for i, v in enumerate(value)]


def _number(value: Any, where: str) -> float:
    try:
        number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    except OverflowError:  # an int of hundreds of digits
        number = math.nan
    _expect(math.isfinite(number), f"{where} must be a finite number, got {_shown(value)}")
    return number


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise BadModelData(message)


def _shown(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:60] + "…"

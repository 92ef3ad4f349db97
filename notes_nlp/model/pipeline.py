"""One scikit-learn Pipeline from a line example to a calibrated probability of support.

Extracted facts and findings (``DictVectorizer``), optionally joined with word
and character n-grams of the note (``TfidfVectorizer``) in a ``FeatureUnion``;
a logistic regression scores the line and ``CalibratedClassifierCV`` makes the
score a probability an auditor can read.

The shipped model uses the facts alone. With the n-grams (capped and
down-weighted) it scored no better on the bundled corpus (README, "The model,
and retraining"), and the n-grams were most of the model's cost per note. The
facts generalize to writers the model has not seen; n-grams of one template do
not. ``notes-nlp train --text-features`` puts them back, to try on one's own
notes.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer

TEXT_WEIGHT = 0.3


def select_facts(examples: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [example["facts"] for example in examples]


def select_text(examples: Sequence[dict[str, Any]]) -> list[str]:
    return [example["text"] for example in examples]


def features(text: bool = False, facts: bool = True) -> FeatureUnion:
    parts = []
    if facts:
        parts.append(("facts", Pipeline([("select", FunctionTransformer(select_facts)), ("vectorize", DictVectorizer())])))
    if text:
        parts.append(("words", Pipeline([
            ("select", FunctionTransformer(select_text)),
            ("tfidf", TfidfVectorizer(ngram_range=(1, 2), min_df=3, max_features=20_000, sublinear_tf=True)),
        ])))
        parts.append(("chars", Pipeline([
            ("select", FunctionTransformer(select_text)),
            ("tfidf", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=3, max_features=20_000, sublinear_tf=True)),
        ])))
    weights = {name: (TEXT_WEIGHT if name != "facts" else 1.0) for name, _ in parts}
    return FeatureUnion(parts, transformer_weights=weights)


def build_pipeline(cv: int | Iterable = 5, seed: int = 0, text: bool = False, facts: bool = True) -> Pipeline:
    """The model: features → logistic regression → sigmoid calibration on held-out folds.

    One regression fitted on all the lines, calibrated on out-of-fold scores
    (``ensemble=False``), rather than an average of one per fold: as well
    calibrated, and a fifth of the work per prediction, which is what the
    check at signing waits for."""
    classifier = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
    return Pipeline([
        ("features", features(text=text, facts=facts)),
        ("classifier", CalibratedClassifierCV(classifier, method="sigmoid", cv=cv, ensemble=False)),
    ])

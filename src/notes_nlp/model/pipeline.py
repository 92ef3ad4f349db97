"""One scikit-learn Pipeline from a line example to a calibrated probability of support.

Extracted facts and findings (``DictVectorizer``), optionally joined with word
and character n-grams of the note (``TfidfVectorizer``), in one transformer
(:class:`LineFeatures`); a logistic regression scores the line and
``CalibratedClassifierCV`` makes the score a probability an auditor can read.

The shipped model uses the facts alone. With the n-grams (capped and
down-weighted) it scored no better on the bundled corpus (README, "The model,
and retraining"), and the n-grams were most of the model's cost per note. The
facts generalize to writers the model has not seen; n-grams of one template do
not. ``notes-nlp train --text-features`` puts them back, to try on one's own
notes.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

TEXT_WEIGHT = 0.3


class LineFeatures(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """A line example's features, side by side: its facts (``example["facts"]``, by
    ``DictVectorizer``) and, with ``text``, word and character n-grams of its note
    (``example["text"]``, TF-IDF, weighted by ``TEXT_WEIGHT``).

    The matrix a ``FeatureUnion`` of ``FunctionTransformer`` pipelines would build,
    from one transformer: that machinery cost about 1 ms per call, ten times the
    vectorizing, on the check at signing."""

    def __init__(self, text: bool = False, facts: bool = True) -> None:
        self.text = text
        self.facts = facts

    @property
    def part_names(self) -> list[str]:
        return [name for name, _, _, _ in self.parts_]

    def fit(self, examples: Sequence[dict[str, Any]], y: Any = None) -> "LineFeatures":
        self.fit_transform(examples)
        return self

    def fit_transform(self, examples: Sequence[dict[str, Any]], y: Any = None) -> sparse.csr_matrix:
        self.parts_ = self.new_parts()
        return self._joined([vectorizer.fit_transform(_field(examples, key)) for _, key, vectorizer, _ in self.parts_])

    def transform(self, examples: Sequence[dict[str, Any]]) -> sparse.csr_matrix:
        return self._joined([vectorizer.transform(_field(examples, key)) for _, key, vectorizer, _ in self.parts_])

    def new_parts(self) -> list[tuple[str, str, Any, float]]:
        """(name, example field, unfitted vectorizer, weight) of each part, in column order: what
        fitting fills, and what a saved model's data are loaded into (:mod:`notes_nlp.model.fitted`)."""
        parts: list[tuple[str, str, Any, float]] = []
        if self.facts:
            parts.append(("facts", "facts", DictVectorizer(), 1.0))
        if self.text:
            parts.append(("words", "text", TfidfVectorizer(ngram_range=(1, 2), min_df=3, max_features=20_000, sublinear_tf=True), TEXT_WEIGHT))
            parts.append(("chars", "text", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=3, max_features=20_000, sublinear_tf=True), TEXT_WEIGHT))
        if not parts:
            raise ValueError("LineFeatures needs the facts, the text, or both")
        return parts

    def _joined(self, blocks: list[sparse.spmatrix]) -> sparse.csr_matrix:
        weighted = [block if weight == 1.0 else block * weight for block, (_, _, _, weight) in zip(blocks, self.parts_)]
        return weighted[0].tocsr() if len(weighted) == 1 else sparse.hstack(weighted, format="csr")


def _field(examples: Sequence[dict[str, Any]], key: str) -> list[Any]:
    return [example[key] for example in examples]


def build_pipeline(cv: int | Iterable = 5, seed: int = 0, text: bool = False, facts: bool = True) -> Pipeline:
    """The model: features → logistic regression → sigmoid calibration on held-out folds.

    One regression fitted on all the lines, calibrated on out-of-fold scores
    (``ensemble=False``), rather than an average of one per fold: as well
    calibrated, and a fifth of the work per prediction, which is what the
    check at signing waits for."""
    classifier = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
    return Pipeline([
        ("features", LineFeatures(text=text, facts=facts)),
        ("classifier", CalibratedClassifierCV(classifier, method="sigmoid", cv=cv, ensemble=False)),
    ])

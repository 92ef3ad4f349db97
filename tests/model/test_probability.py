"""A saved model's probability is scikit-learn's own ``predict_proba`` of the pipeline it came from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from notes_nlp.corpus.load import split_notes
from notes_nlp.model.data import labeled_lines
from notes_nlp.model.persist import load_model, save_model
from notes_nlp.model.pipeline import TEXT_WEIGHT, LineFeatures
from notes_nlp.model.train import fit

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


@pytest.fixture(scope="module")
def dev_lines(nlp):
    return labeled_lines(split_notes(CORPUS, "dev")[:200], nlp)


@pytest.mark.parametrize("text", [False, True])
def test_a_saved_models_probability_is_the_pipelines_predict_proba(dev_lines, tmp_path, text):
    """Fitted, saved as data, loaded: the same numbers as predict_proba on the fitted pipeline."""
    pipeline = fit(dev_lines, seed=0, text=text)
    expected = pipeline.predict_proba(dev_lines.examples)[:, list(pipeline.classes_).index(1)]
    meta = {"name": "test", "thresholds": {"at_risk_below": 0.5}}
    loaded = load_model(save_model(pipeline, meta, tmp_path / "m", "card"))
    np.testing.assert_array_equal(loaded.probability(dev_lines.examples), expected)
    assert loaded.fitted.features.part_names == (["facts", "words", "chars"] if text else ["facts"])


def test_line_features_are_the_feature_union_of_facts_and_weighted_n_grams(dev_lines):
    examples = dev_lines.examples
    union = FeatureUnion(
        [
            ("facts", make_pipeline(FunctionTransformer(lambda xs: [x["facts"] for x in xs]), DictVectorizer())),
            ("words", make_pipeline(FunctionTransformer(lambda xs: [x["text"] for x in xs]), TfidfVectorizer(ngram_range=(1, 2), min_df=3, max_features=20_000, sublinear_tf=True))),
            ("chars", make_pipeline(FunctionTransformer(lambda xs: [x["text"] for x in xs]), TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=3, max_features=20_000, sublinear_tf=True))),
        ],
        transformer_weights={"facts": 1.0, "words": TEXT_WEIGHT, "chars": TEXT_WEIGHT},
    )
    ours = LineFeatures(text=True).fit(examples)
    assert (ours.transform(examples) != union.fit(examples).transform(examples)).nnz == 0
    assert ours.part_names == ["facts", "words", "chars"]


def test_line_features_need_something_to_vectorize():
    with pytest.raises(ValueError, match="facts, the text, or both"):
        LineFeatures(text=False, facts=False).fit([{"facts": {}, "text": ""}])

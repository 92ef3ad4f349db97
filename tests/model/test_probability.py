"""The model's probability is scikit-learn's ``predict_proba``, computed from the fitted parts."""

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
from notes_nlp.model.persist import DEFAULT_MODEL_DIR, load_model
from notes_nlp.model.pipeline import TEXT_WEIGHT, LineFeatures
from notes_nlp.model.train import fit, supported_probability

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


@pytest.fixture(scope="module")
def dev_lines(nlp):
    return labeled_lines(split_notes(CORPUS, "dev")[:200], nlp)


def test_the_shipped_models_probability_is_its_predict_proba(dev_lines):
    pipeline = load_model(DEFAULT_MODEL_DIR).pipeline
    expected = pipeline.predict_proba(dev_lines.examples)[:, list(pipeline.classes_).index(1)]
    np.testing.assert_array_equal(supported_probability(pipeline, dev_lines.examples), expected)


@pytest.mark.parametrize("text", [False, True])
def test_a_fitted_models_probability_is_its_predict_proba(dev_lines, text):
    pipeline = fit(dev_lines, seed=0, text=text)
    expected = pipeline.predict_proba(dev_lines.examples)[:, list(pipeline.classes_).index(1)]
    np.testing.assert_array_equal(supported_probability(pipeline, dev_lines.examples), expected)


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

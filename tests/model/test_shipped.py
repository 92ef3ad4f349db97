"""The shipped default model is what `make model` builds from the current corpus and code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from notes_nlp.corpus.load import split_notes
from notes_nlp.model.data import labeled_lines, records_hash
from notes_nlp.model.fitted import FittedModel
from notes_nlp.model.persist import SHIPPED_MODEL, load_model
from notes_nlp.model.train import supported_probability, train

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


def test_shipped_model_was_trained_on_the_current_train_split():
    model = load_model(SHIPPED_MODEL)
    assert model.meta["training"]["sha256"] == records_hash(split_notes(CORPUS, "train")), (
        "the corpus train split changed since the shipped model (src/notes_nlp/model/default) was built: run `make model`"
    )


@pytest.mark.slow
def test_rebuilding_gives_the_same_predictions(nlp):
    """Same data, code and seed → the same model: its predictions on dev, and its data."""
    shipped = load_model(SHIPPED_MODEL)
    train_data = labeled_lines(split_notes(CORPUS, "train"), nlp)
    dev_data = labeled_lines(split_notes(CORPUS, "dev"), nlp)
    pipeline, meta, _ = train(train_data, dev_data, shipped.meta["seed"], {})
    assert meta["thresholds"] == shipped.meta["thresholds"]
    np.testing.assert_allclose(supported_probability(pipeline, dev_data.examples), shipped.probability(dev_data.examples), atol=1e-9)
    rebuilt = FittedModel.from_pipeline(pipeline).to_data()
    assert rebuilt["features"] == shipped.fitted.to_data()["features"]

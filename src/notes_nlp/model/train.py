"""Training: grouped cross-validation, the final fit, thresholds, and the model card.

Cross-validation keeps each writer (or chart) in one fold, so the figures
say how the model does on a clinician it has not seen. Calibration is fitted
on held-out folds inside the training data. The ``at_risk`` threshold is set
on a development set the model was not fitted on (the corpus dev split), or
on the out-of-fold predictions when there is none.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any, Sequence

import numpy as np
from sklearn.model_selection import GroupKFold

from notes_nlp.model.data import LabeledLines
from notes_nlp.model.fitted import FittedModel
from notes_nlp.model.metrics import format_metrics, metrics_by_code
from notes_nlp.model.pipeline import build_pipeline

FEATURES = "the facts the extraction found and the findings of the payer rules"
FEATURES_WITH_TEXT = FEATURES + ", joined with down-weighted word and character n-grams of the note"
CV_FOLDS = 5
CALIBRATION_FOLDS = 3
THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.01), 2)


def grouped_folds(groups: Sequence[str], folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    folds = min(folds, len(set(groups)))
    return list(GroupKFold(n_splits=folds).split(np.zeros(len(groups)), groups=groups))


def fit(data: LabeledLines, seed: int, index: Sequence[int] | None = None, text: bool = False):
    """Fit the pipeline on some lines, calibrating on grouped folds of those lines."""
    index = list(range(len(data))) if index is None else list(index)
    groups = [data.groups[i] for i in index]
    pipeline = build_pipeline(cv=grouped_folds(groups, CALIBRATION_FOLDS), seed=seed, text=text)
    pipeline.fit([data.examples[i] for i in index], [data.labels[i] for i in index])
    return pipeline


def supported_probability(pipeline, examples: Sequence[dict[str, Any]]) -> np.ndarray:
    """The calibrated probability that each line is supported, from a fitted pipeline's parts,
    as a saved model computes it (:class:`~notes_nlp.model.fitted.FittedModel`)."""
    return FittedModel.from_pipeline(pipeline).probability(examples)


def out_of_fold(data: LabeledLines, seed: int, text: bool = False) -> np.ndarray:
    probabilities = np.zeros(len(data))
    for train_index, test_index in grouped_folds(data.groups, CV_FOLDS):
        pipeline = fit(data, seed, train_index, text)
        probabilities[test_index] = supported_probability(pipeline, [data.examples[i] for i in test_index])
    return probabilities


def decide(probabilities: Sequence[float], rule_errors: Sequence[int], threshold: float) -> list[int]:
    """Supported (1) only without an error finding and with enough probability."""
    return [int(errors == 0 and p >= threshold) for p, errors in zip(probabilities, rule_errors)]


def choose_threshold(labels: Sequence[int], probabilities: Sequence[float], rule_errors: Sequence[int]) -> float:
    """The lowest threshold with the best accuracy: lines below it are ``at_risk``."""
    scores = [(np.mean(np.asarray(decide(probabilities, rule_errors, t)) == np.asarray(labels)), -t) for t in THRESHOLD_GRID]
    return float(-max(scores)[1])


def train(
    train_data: LabeledLines, dev_data: LabeledLines | None, seed: int, training: dict[str, Any], text_features: bool = False,
) -> tuple[Any, dict[str, Any], str]:
    """Cross-validate, fit the final model, set the threshold; returns (pipeline, meta, report)."""
    oof = out_of_fold(train_data, seed, text_features)
    pipeline = fit(train_data, seed, text=text_features)
    if dev_data is not None and len(dev_data):
        dev_probabilities = supported_probability(pipeline, dev_data.examples)
        threshold = choose_threshold(dev_data.labels, dev_probabilities, dev_data.rule_errors)
        dev_metrics = metrics_by_code(dev_data.codes, dev_data.labels, dev_probabilities.tolist(), decide(dev_probabilities, dev_data.rule_errors, threshold))
        threshold_from = "dev split"
    else:
        threshold = choose_threshold(train_data.labels, oof, train_data.rule_errors)
        dev_metrics, threshold_from = None, "out-of-fold predictions"
    cv_metrics = metrics_by_code(train_data.codes, train_data.labels, oof.tolist(), decide(oof, train_data.rule_errors, threshold))
    balance = Counter(f"{code} {'supported' if label else 'unsupported'}" for code, label in zip(train_data.codes, train_data.labels))
    meta = {
        "name": "notes-nlp line model",
        "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "seed": seed,
        "features": FEATURES_WITH_TEXT if text_features else FEATURES,
        "training": {**training, "lines": len(train_data), "writers": len(set(train_data.groups)), "label_balance": dict(sorted(balance.items()))},
        "thresholds": {"at_risk_below": threshold, "set_on": threshold_from},
        "metrics": {"cross_validated": cv_metrics, "dev": dev_metrics},
    }
    report = format_metrics(f"grouped {CV_FOLDS}-fold cross-validation on the training data (by writer)", cv_metrics)
    if dev_metrics:
        report += "\n" + format_metrics("dev split (threshold set here)", dev_metrics)
    report += f"\nat_risk threshold: probability < {threshold:.2f} ({threshold_from})"
    return pipeline, meta, report


def model_card(meta: dict[str, Any], report: str) -> str:
    training = meta["training"]
    return f"""# Model card: {meta['name']}

Scores whether the documentation of a note supports a billed CPT 97124 or
97140 line: a calibrated probability that the line is supported, from
{meta['features']}.

* Created: {meta['created']} (seed {meta['seed']})
* Training data: {training.get('source', 'labeled notes')}: {training.get('records')} notes, {training['lines']} lines, {training['writers']} writers; sha256 {training.get('sha256', '')[:16]}…
* Label balance: {', '.join(f'{k}: {v}' for k, v in training['label_balance'].items())}
* Verdicts: `unsupported` when a rule finds an error; else `at_risk` below probability {meta['thresholds']['at_risk_below']:.2f} (set on the {meta['thresholds']['set_on']}); else `supported`.
* Intended use: ranking and explaining billed lines for audit and pre-submission checks. Not a coverage decision.
* Limits: trained on notes written for this project (hand-written and generated), not on real charts; payer rules change; re-check calibration on your own labeled notes with `notes-nlp evaluate`.

## Figures at training time

```
{report}
```
"""

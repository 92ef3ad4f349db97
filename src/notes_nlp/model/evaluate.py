"""Evaluation of a model on labeled lines, beside three baselines on the same lines.

* keyword checklist: supported when a technique word of the billed family appears at all;
* rules only: supported when no rule finds an error (score: fewer errors, fewer warnings);
* text n-grams only: the same pipeline without the extracted facts, trained with grouped
  cross-validation on the evaluated lines themselves (each line scored by a model that
  never saw its writer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_curve

from notes_nlp.model.data import LabeledLines
from notes_nlp.model.metrics import format_metrics, metrics_by_code
from notes_nlp.model.persist import Model
from notes_nlp.model.pipeline import build_pipeline
from notes_nlp.model.train import CALIBRATION_FOLDS, CV_FOLDS, decide, grouped_folds, supported_probability


def keyword_baseline(data: LabeledLines) -> tuple[list[float], list[int]]:
    mentioned = [
        float(any(value > 0 for key, value in example["facts"].items() if key.startswith("own_")))
        for example in data.examples
    ]
    return mentioned, [int(m) for m in mentioned]


def rules_baseline(data: LabeledLines) -> tuple[list[float], list[int]]:
    scores = [1.0 / (1.0 + e["facts"]["errors"] + 0.1 * e["facts"]["warnings"]) for e in data.examples]
    return scores, [int(errors == 0) for errors in data.rule_errors]


def ngram_baseline(data: LabeledLines, seed: int) -> tuple[list[float], list[int]]:
    probabilities = np.zeros(len(data))
    for train_index, test_index in grouped_folds(data.groups, CV_FOLDS):
        groups = [data.groups[i] for i in train_index]
        pipeline = build_pipeline(cv=grouped_folds(groups, CALIBRATION_FOLDS), seed=seed, text=True, facts=False)
        pipeline.fit([data.examples[i] for i in train_index], [data.labels[i] for i in train_index])
        probabilities[test_index] = supported_probability(pipeline, [data.examples[i] for i in test_index])
    return probabilities.tolist(), [int(p >= 0.5) for p in probabilities]


def evaluate(model: Model, data: LabeledLines, seed: int = 0, plots: Path | None = None) -> tuple[dict[str, Any], str]:
    probabilities = model.probability(data.examples)
    systems = {"model": (probabilities.tolist(), decide(probabilities, data.rule_errors, model.threshold))}
    systems["keyword checklist"] = keyword_baseline(data)
    systems["rules only"] = rules_baseline(data)
    systems["text n-grams only"] = ngram_baseline(data, seed)
    results = {name: metrics_by_code(data.codes, data.labels, p, yhat) for name, (p, yhat) in systems.items()}
    report = "\n".join(format_metrics(name, metrics) for name, metrics in results.items())
    model_accuracy = results["model"]["all"]["accuracy"]
    report += "\naccuracy of the model minus each baseline: " + ", ".join(
        f"{name} {model_accuracy - m['all']['accuracy']:+.3f}" for name, m in results.items() if name != "model"
    )
    if plots is not None:
        draw_plots(plots, data.labels, {name: p for name, (p, _) in systems.items()})
        report += f"\nplots: {plots / 'calibration.png'}, {plots / 'roc.png'}"
    return results, report


def draw_plots(folder: Path, labels: list[int], scores: dict[str, list[float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    figure, axis = plt.subplots(figsize=(5, 5))
    prob_true, prob_pred = calibration_curve(labels, scores["model"], n_bins=10, strategy="quantile")
    axis.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfect calibration")
    axis.plot(prob_pred, prob_true, marker="o", label="model")
    axis.set_xlabel("predicted probability of support")
    axis.set_ylabel("observed share supported")
    axis.set_title("Calibration")
    axis.legend()
    figure.tight_layout()
    figure.savefig(folder / "calibration.png", dpi=120)
    plt.close(figure)
    figure, axis = plt.subplots(figsize=(5, 5))
    for name, score in scores.items():
        fpr, tpr, _ = roc_curve(labels, score)
        axis.plot(fpr, tpr, label=name)
    axis.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axis.set_xlabel("false positive rate")
    axis.set_ylabel("true positive rate")
    axis.set_title("ROC (positive: supported)")
    axis.legend()
    figure.tight_layout()
    figure.savefig(folder / "roc.png", dpi=120)
    plt.close(figure)

"""The figures an auditor and an ML engineer read: per code and overall.

The positive class for precision, recall and F1 is ``unsupported`` (what an
auditor is looking for); ROC AUC and the Brier score are computed on the
probability that the line is supported.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from sklearn.metrics import accuracy_score, brier_score_loss, confusion_matrix, precision_recall_fscore_support, roc_auc_score


def binary_metrics(labels: Sequence[int], probabilities: Sequence[float], predicted: Sequence[int]) -> dict[str, Any]:
    y, p, yhat = np.asarray(labels), np.asarray(probabilities, dtype=float), np.asarray(predicted)
    precision, recall, f1, _ = precision_recall_fscore_support(1 - y, 1 - yhat, average="binary", zero_division=0)
    both = len(set(y.tolist())) == 2
    return {
        "lines": int(len(y)),
        "accuracy": round(float(accuracy_score(y, yhat)), 4),
        "roc_auc": round(float(roc_auc_score(y, p)), 4) if both else None,
        "precision_unsupported": round(float(precision), 4),
        "recall_unsupported": round(float(recall), 4),
        "f1_unsupported": round(float(f1), 4),
        "brier": round(float(brier_score_loss(y, np.clip(p, 0, 1))), 4),
        # rows: gold supported / unsupported; columns: predicted supported / unsupported
        "confusion": confusion_matrix(1 - y, 1 - yhat, labels=[0, 1]).tolist(),
    }


def metrics_by_code(codes: Sequence[str], labels: Sequence[int], probabilities: Sequence[float], predicted: Sequence[int]) -> dict[str, Any]:
    result = {"all": binary_metrics(labels, probabilities, predicted)}
    for code in sorted(set(codes)):
        index = [i for i, c in enumerate(codes) if c == code]
        result[code] = binary_metrics([labels[i] for i in index], [probabilities[i] for i in index], [predicted[i] for i in index])
    return result


def format_metrics(name: str, metrics: dict[str, Any]) -> str:
    lines = [f"{name}:"]
    for code, m in metrics.items():
        auc = "n/a" if m["roc_auc"] is None else f"{m['roc_auc']:.3f}"
        lines.append(
            f"  {code:<6} n={m['lines']:<5} accuracy {m['accuracy']:.3f}  ROC AUC {auc}  "
            f"P {m['precision_unsupported']:.3f} R {m['recall_unsupported']:.3f} F1 {m['f1_unsupported']:.3f}  "
            f"Brier {m['brier']:.3f}  confusion {m['confusion']}"
        )
    return "\n".join(lines)

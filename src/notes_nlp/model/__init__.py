"""The model: features of a billed line, the scikit-learn pipeline, training, evaluation, safe persistence."""

"""What the model tests (test_model_cv, test_model_rounds) share: where the evaluation
data and the repository are, and hypothesis strategies for the rules' labels and a
model's probabilities."""

from __future__ import annotations

from pathlib import Path

from hypothesis import strategies as st

from newswire.evaluation.model_candidates import LABELS

EVAL = Path(__file__).resolve().parents[1] / "fixtures" / "eval"
REPO = Path(__file__).resolve().parents[2]

labels = st.frozensets(st.sampled_from(LABELS))
probabilities = st.fixed_dictionaries({label: st.floats(0, 1) for label in LABELS})

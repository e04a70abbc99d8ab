"""The text models :mod:`.model_cv` measures against the topic rules, one interface.

Each candidate has ``fit(texts, rows)`` (rows: 0/1 per label in :data:`LABELS`
order), ``predict_proba(texts)`` (a probability per label), and ``size_bytes()``
(what shipping it would cost). Deterministic: liblinear has no random state.

* ``charlr C=…``: TF-IDF over character n-grams inside word boundaries (``char_wb``
  2-5, which absorbs the clitics and affixes of Persian, Sorani and Kurmanji), one
  class-balanced logistic regression per label (scikit-learn), at three strengths of
  regularisation.

fastText supervised was tried and is not a candidate: on these few hundred items the
``fasttext-numpy2`` build diverged ("Encountered NaN") on most folds at every learning
rate tried (see ``NOTES-model.md``). scikit-learn is not a dependency of the stream:
``pip install -e '.[model]'``.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Sequence

STRIKES = ("iran-strikes", "strikes-on-iran")
LABELS = ("iraq", "us-forces", *STRIKES)


def model_text(title: str | None, text: str) -> str:
    """What a model reads: the title and the body as one string."""
    return f"{title}\n{text}" if title else text


class CharLogistic:
    """Character n-gram TF-IDF + one balanced logistic regression per label."""

    def __init__(self, c: float = 4.0) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.pipeline import make_pipeline

        self._pipeline = make_pipeline(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
            OneVsRestClassifier(
                LogisticRegression(C=c, class_weight="balanced", solver="liblinear")
            ),
        )

    def fit(self, texts: Sequence[str], rows: Sequence[Sequence[int]]) -> CharLogistic:
        self._pipeline.fit(list(texts), [list(r) for r in rows])
        return self

    def predict_proba(self, texts: Sequence[str]) -> list[list[float]]:
        return [[float(p) for p in row] for row in self._pipeline.predict_proba(list(texts))]

    def size_bytes(self) -> int:
        return len(pickle.dumps(self._pipeline))


Candidate = Callable[[], CharLogistic]

CANDIDATES: dict[str, Candidate] = {
    "charlr C=1": lambda: CharLogistic(1.0),
    "charlr C=4": lambda: CharLogistic(4.0),
    "charlr C=16": lambda: CharLogistic(16.0),
}

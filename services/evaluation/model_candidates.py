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
rate tried (see ``MODELS.md``). scikit-learn is not a dependency of the stream:
``pip install -e '.[model]'``.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable, Sequence
from typing import Any

from newswire.evaluation.rule_outputs import RuleOutput

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


class TextModel:
    """One of :mod:`.model_rounds`' candidates: a text representation (TF-IDF char or
    word n-grams, both, or a stateless hashing of char n-grams), optionally the rules'
    own output per topic beside it, and one logistic regression per label.

    ``fit(texts, rules, rows)`` / ``predict_proba(texts, rules)``: ``rules`` holds the
    rules' output per text; only ``rule_features=True`` reads it.
    """

    def __init__(
        self,
        features: str,
        *,
        c: float = 4.0,
        weighted: bool = True,
        rule_features: bool = False,
    ) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier

        self._vectorizer = _vectorizer(features)
        self._rule_features = rule_features
        self._classifier = OneVsRestClassifier(
            LogisticRegression(
                C=c, class_weight="balanced" if weighted else None, solver="liblinear"
            )
        )

    def _matrix(self, texts: Sequence[str], rules: Sequence[RuleOutput], fit: bool) -> Any:
        from scipy.sparse import csr_matrix, hstack  # type: ignore[import-untyped]

        vectors = (self._vectorizer.fit_transform if fit else self._vectorizer.transform)(
            list(texts)
        )
        if not self._rule_features:
            return vectors
        return hstack([vectors, csr_matrix([rule_row(r) for r in rules])]).tocsr()

    def fit(
        self, texts: Sequence[str], rules: Sequence[RuleOutput], rows: Sequence[Sequence[int]]
    ) -> TextModel:
        self._classifier.fit(self._matrix(texts, rules, fit=True), [list(r) for r in rows])
        return self

    def predict_proba(self, texts: Sequence[str], rules: Sequence[RuleOutput]) -> list[list[float]]:
        found = self._classifier.predict_proba(self._matrix(texts, rules, fit=False))
        return [[float(p) for p in row] for row in found]

    def size_bytes(self) -> int:
        """What shipping it would cost: the fitted vectorizer (a hashing one holds no
        vocabulary) and the weights, pickled."""
        return len(pickle.dumps((self._vectorizer, self._classifier)))


def rule_row(rules: RuleOutput) -> list[float]:
    """The rules' output as features, per label: given, evidence seen, log(1 + score)."""
    scores = dict(rules.scores)
    return [
        value
        for label in LABELS
        for value in (
            float(label in rules.labels),
            float(label in rules.partial),
            math.log1p(max(scores.get(label, 0.0), 0.0)),
        )
    ]


def _vectorizer(features: str) -> Any:
    """The text representation named ``features``."""
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer
    from sklearn.pipeline import make_union

    def char(low: int, high: int) -> TfidfVectorizer:
        return TfidfVectorizer(
            analyzer="char_wb", ngram_range=(low, high), sublinear_tf=True, min_df=2
        )

    def word() -> TfidfVectorizer:
        return TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=2)

    makers: dict[str, Callable[[], Any]] = {
        "char2-5": lambda: char(2, 5),
        "char3-6": lambda: char(3, 6),
        "word1-2": word,
        "char+word": lambda: make_union(char(2, 5), word()),
        "hash2-5": lambda: HashingVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), n_features=2**18, alternate_sign=False
        ),
    }
    return makers[features]()


RoundCandidate = Callable[[], TextModel]

#: The candidates of the as-of rounds, fixed before they were run (MODELS.md).
ROUND_CANDIDATES: dict[str, RoundCandidate] = {
    "char2-5": lambda: TextModel("char2-5"),
    "char3-6": lambda: TextModel("char3-6"),
    "word1-2": lambda: TextModel("word1-2"),
    "char+word": lambda: TextModel("char+word"),
    "char2-5 unweighted": lambda: TextModel("char2-5", weighted=False),
    "hash2-5": lambda: TextModel("hash2-5"),
    "hash+rules": lambda: TextModel("hash2-5", rule_features=True),
}

CANDIDATES: dict[str, Candidate] = {
    "charlr C=1": lambda: CharLogistic(1.0),
    "charlr C=4": lambda: CharLogistic(4.0),
    "charlr C=16": lambda: CharLogistic(16.0),
}

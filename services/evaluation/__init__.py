"""``newswire eval``: the enricher's stages measured against hand-labelled fixtures.

Offline tooling, kept out of the streaming package: it runs the very stages the
enricher builds (language identification, the shipped topic taxonomy, the
near-duplicate decision of the band exchange) over labelled files and reports how
they do. Modules: :mod:`.metrics` (the pure maths), :mod:`.data` (the fixture files),
:mod:`.near_duplicates` (pairs judged by the stream's decision), :mod:`.run` (the
stages over the data, per split), :mod:`.report`, :mod:`.printing` and
:mod:`.side_by_side` (what is found and how it is printed), :mod:`.split` (the frozen
test split by event), :mod:`.overlap` (exact shingle overlap of a pair) and
:mod:`.corpus` (the generator of the event-grouped near-duplicate pairs). The last
printed line is machine-readable (the frozen split's, when there is one)::

    min_topic_f1=0.912 language_accuracy=0.984 near_dup_precision=1.000 near_dup_recall=1.000
"""

from newswire.evaluation.data import EvaluationDataError
from newswire.evaluation.report import EvalReport
from newswire.evaluation.run import run_eval

__all__ = ["EvalReport", "EvaluationDataError", "run_eval"]

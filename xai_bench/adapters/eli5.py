"""ELI5 adapters: ``explain_prediction`` weights, ``TextExplainer`` and permutation importance.

ELI5 returns ``Explanation(error=...)`` instead of raising for estimators it does not
support (HistGradientBoosting, most Pipelines); that becomes an
:class:`~xai_bench.errors.IncompatibleError` carrying ELI5's reason, so the runner
records a skip. Feature weights come back keyed by name; they are mapped to columns
by the names passed in, and ``<BIAS>`` is recorded as the base value, not a feature.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import numpy as np

from .._deps import require
from .._upstream import Upstream
from ..errors import IncompatibleError, InvalidInputError
from ..explainer import BaseExplainer, Capabilities, Requirement
from ..task import CountingScorer, Modality, Task

BIAS = "<BIAS>"


def _eli5() -> Any:
    return require("eli5", "eli5")


@contextlib.contextmanager
def _recording(into: list[str]) -> Iterator[None]:
    """Keep ELI5's (and sklearn's) warnings out of the console and in ``meta["warnings"]``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        text = f"{w.category.__name__}: {w.message}"
        if text not in into:
            into.append(text)


def _target_of(explanation: Any, what: str) -> Any:
    if explanation.error:
        raise IncompatibleError(f"{what}: ELI5 says {explanation.error}")
    if not explanation.targets:
        raise IncompatibleError(f"{what}: ELI5 returned no per-target weights")
    return explanation.targets[0]


def _feature_weights(target: Any) -> tuple[dict[str, float], float]:
    fw = target.feature_weights
    weights = {str(f.feature): float(f.weight) for f in [*fw.pos, *fw.neg]}
    return weights, weights.pop(BIAS, 0.0)


def _span_weights(target: Any) -> list[tuple[int, int, float]]:
    # ELI5 gives every occurrence of a repeated word the word's whole feature weight:
    # split it over the occurrences so the token weights add up to the feature weights
    spans = target.weighted_spans.docs_weighted_spans[0].spans
    count: dict[str, int] = {}
    for name, ranges, _ in spans:
        count[str(name)] = count.get(str(name), 0) + len(ranges)
    return [
        (int(s), int(e), float(w) / count[str(name)])
        for name, ranges, w in spans
        for s, e in ranges
    ]


def _linear_or_tree_space(clf: Any, n_outputs: int) -> str:
    # linear models and gradient boosting explain the decision function; forests the probability
    if not hasattr(clf, "decision_function"):
        return "probability"
    return "log_odds" if n_outputs == 2 else "logit"


class Eli5Weights(BaseExplainer):
    """``eli5.explain_prediction`` for scikit-learn linear and tree classifiers.

    Tabular: one weight per column (linear: ``w * x``; trees: decision-path
    contributions). Text: a two-step ``Pipeline(vectorizer, classifier)`` is
    explained with ``vec=`` and its word spans are aligned to model tokens.
    No parameters: ELI5's weights are deterministic.
    """

    name: ClassVar[str] = "eli5.explain_prediction"
    library: ClassVar[str] = "eli5"
    capabilities: ClassVar[Capabilities] = Capabilities(
        modalities=frozenset({Modality.TABULAR, Modality.TEXT}),
        requires=frozenset({Requirement.SKLEARN_MODEL}),
        output_space="model",
    )

    def __init__(self) -> None:
        pass

    def _attribute(
        self, task: Task, X: np.ndarray, targets: np.ndarray, scorer: CountingScorer
    ) -> tuple[np.ndarray, dict[str, Any]]:
        eli5 = _eli5()
        if task.modality is Modality.TEXT:
            return self._text(eli5, task, X, targets)
        names = [f"c{j}" for j in range(X.shape[1])]  # unique names -> column index
        column = {n: j for j, n in enumerate(names)}
        attr = np.zeros(X.shape)
        base: list[float] = []
        seen: list[str] = []
        for i, (x, t) in enumerate(zip(X, targets, strict=True)):
            # a regressor has one target, named by ELI5 ("y"), not by an index
            which = None if task.is_regression else [int(t)]
            with _recording(seen):
                found = eli5.explain_prediction(
                    task.model, x, feature_names=names, top=None, targets=which
                )
            weights, bias = _feature_weights(_target_of(found, self.name))
            for n, w in weights.items():
                attr[i, column[n]] = w
            base.append(bias)
        space = _linear_or_tree_space(task.model, task.n_outputs)
        return attr, {"output_space": space, "base_values": base, "warnings": seen}

    def _text(
        self, eli5: Any, task: Task, X: np.ndarray, targets: np.ndarray
    ) -> tuple[np.ndarray, dict[str, Any]]:
        from ._text import alignment_meta, row_texts, spans_to_tokens

        steps = getattr(task.model, "steps", None)
        if not steps or len(steps) != 2:
            raise IncompatibleError(
                f"{self.name} on text needs a Pipeline(vectorizer, classifier), "
                f"not {type(task.model).__name__}"
            )
        vec, clf = steps[0][1], steps[1][1]
        rows = row_texts(task, X)
        attr = np.zeros(X.shape)
        base: list[float] = []
        seen: list[str] = []
        for i, (row, t) in enumerate(zip(rows, targets, strict=True)):
            with _recording(seen):
                found = eli5.explain_prediction(clf, row.text, vec=vec, top=None, targets=[int(t)])
            target = _target_of(found, self.name)
            attr[i] = spans_to_tokens(row, _span_weights(target), X.shape[1])
            base.append(_feature_weights(target)[1])
        space = _linear_or_tree_space(clf, task.n_outputs)
        meta = {**alignment_meta(rows), "output_space": space, "warnings": seen}
        return attr, {**meta, "base_values": base}


class Eli5Text(BaseExplainer):
    """ELI5's ``TextExplainer`` (LIME-style surrogate, position-dependent words) on any text task.

    Parameters
    ----------
    n_samples : int
        Perturbed texts per sample.
    seed : int
    """

    name: ClassVar[str] = "eli5.text"
    upstream_defaults: ClassVar[dict[str, Any]] = {
        "n_samples": Upstream("eli5.lime:TextExplainer.__init__", "n_samples")
    }
    library: ClassVar[str] = "eli5"
    capabilities: ClassVar[Capabilities] = Capabilities(
        modalities=frozenset({Modality.TEXT}),
        requires=frozenset({Requirement.TOKENIZER, Requirement.CLASSIFIER}),
        stochastic=True,
        output_space="log_odds",
    )

    def __init__(self, n_samples: int = 500, seed: int = 0) -> None:
        self.n_samples = n_samples
        self.seed = seed

    def _attribute(
        self, task: Task, X: np.ndarray, targets: np.ndarray, scorer: CountingScorer
    ) -> tuple[np.ndarray, dict[str, Any]]:
        lime = require("eli5.lime", "eli5")
        from ._text import alignment_meta, row_texts, spans_to_tokens, text_scorer

        rows = row_texts(task, X)
        short = [i for i, r in enumerate(rows) if len(r.positions) < 2]
        if short:  # every perturbation of one word is the empty text: ELI5 fails on zero weights
            raise InvalidInputError(
                f"rows {short} have a single token",
                "texts of at least two tokens for ELI5's TextExplainer",
                "Drop one-word texts, or use lime.text / shap.partition for them.",
            )

        def normalised(scores: Callable[[Any], np.ndarray]) -> Callable[[Any], np.ndarray]:
            def predict(texts: Any) -> np.ndarray:
                p = scores(texts)  # float32 models: ELI5 samples with numpy, which needs sum == 1
                return p / p.sum(1, keepdims=True)

            return predict

        attr = np.zeros(X.shape)
        fidelity: list[dict[str, float]] = []
        seen: list[str] = []
        for i, (row, t) in enumerate(zip(rows, targets, strict=True)):
            te = lime.TextExplainer(
                n_samples=self.n_samples,
                position_dependent=True,  # one weight per word occurrence
                token_pattern=r"\S+",
                random_state=self.seed,
            )
            with _recording(seen):
                te.fit(row.text, normalised(text_scorer(task, scorer, X.shape[1], row)))
                target = _target_of(te.explain_prediction(targets=[int(t)], top=None), self.name)
            attr[i] = spans_to_tokens(row, _span_weights(target), X.shape[1])
            fidelity.append({k: float(v) for k, v in te.metrics_.items()})
        return attr, {
            **alignment_meta(rows),
            "surrogate_metrics": fidelity,
            "removal": "word dropped",
        }


class Eli5PermutationImportance(BaseExplainer):
    """Global permutation importance (ELI5's ``get_score_importances``) on any tabular scorer.

    The score is the mean probability of each reference row's predicted class, so the
    importance of a column is how much shuffling it lowers the model's confidence in its
    own predictions; on a regressor it is minus the mean squared change of the
    prediction. Computed on the task's inputs (the same for every batch) and broadcast to
    each explained sample.

    Parameters
    ----------
    n_iter : int
        Shuffles per column.
    max_rows : int
        Reference rows taken from the task's inputs.
    seed : int
    """

    name: ClassVar[str] = "eli5.permutation_importance"
    upstream_defaults: ClassVar[dict[str, Any]] = {
        "n_iter": Upstream("eli5.sklearn:PermutationImportance.__init__", "n_iter"),
        "max_rows": "the rows you pass",
    }
    library: ClassVar[str] = "eli5"
    capabilities: ClassVar[Capabilities] = Capabilities(
        modalities=frozenset({Modality.TABULAR}), stochastic=True, global_only=True
    )

    def __init__(self, n_iter: int = 5, max_rows: int = 200, seed: int = 0) -> None:
        self.n_iter = n_iter
        self.max_rows = max_rows
        self.seed = seed

    def _attribute(
        self, task: Task, X: np.ndarray, targets: np.ndarray, scorer: CountingScorer
    ) -> tuple[np.ndarray, dict[str, Any]]:
        pi = require("eli5.permutation_importance", "eli5")
        ref = np.asarray(task.X, dtype=np.float64)[: self.max_rows]
        if task.is_regression:  # y: the model's own predictions
            labels = scorer(ref)[:, 0]

            def score(data: np.ndarray, y: np.ndarray) -> float:
                return -float(np.mean((scorer(data)[:, 0] - y) ** 2))

        else:
            labels = scorer(ref).argmax(1)

            def score(data: np.ndarray, y: np.ndarray) -> float:
                return float(scorer(data)[np.arange(len(y)), y].mean())

        base, drops = pi.get_score_importances(
            score, ref, labels, n_iter=self.n_iter, random_state=self.seed
        )
        importance = np.mean(drops, axis=0)
        attr = np.broadcast_to(importance, X.shape).copy()
        return attr, {"base_score": float(base), "reference_rows": len(ref), "global": True}

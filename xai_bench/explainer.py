"""The Explainer protocol, its declared Capabilities, and a small base class for adapters."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from ._deps import version
from ._params import Parameterised
from ._validation import as_feature_matrix, by_task_columns, check_finite
from .errors import IncompatibleError, InvalidInputError
from .explanation import Explanation
from .task import CountingScorer, Modality, Task

__all__ = ["BaseExplainer", "Capabilities", "Explainer", "Requirement", "check_compatible"]


class Requirement(StrEnum):
    """What an explainer needs from a task beyond a black-box scorer.

    Examples
    --------
    >>> xb.Requirement("torch_model") is xb.Requirement.TORCH_MODEL
    True
    """

    TORCH_MODEL = "torch_model"
    SKLEARN_MODEL = "sklearn_model"
    TOKENIZER = "tokenizer"
    GROUND_TRUTH = "ground_truth"
    BACKGROUND = "background"
    CLASSIFIER = "classifier"


_REQUIREMENT_CHECKS: dict[Requirement, tuple[Callable[[Task], bool], str]] = {
    Requirement.TORCH_MODEL: (lambda t: t.is_torch, "needs a torch model (gradient method)"),
    Requirement.SKLEARN_MODEL: (lambda t: t.is_sklearn, "needs a scikit-learn estimator"),
    Requirement.TOKENIZER: (lambda t: t.tokenizer is not None, "needs a tokenizer"),
    Requirement.GROUND_TRUTH: (
        lambda t: t.ground_truth is not None,
        "needs a task with known evidence features (ground truth)",
    ),
    Requirement.BACKGROUND: (
        lambda t: t.background is not None or t.modality is Modality.TABULAR,
        "needs background data",
    ),
    Requirement.CLASSIFIER: (
        lambda t: not t.is_regression,
        "explains class probabilities, not a regressor's prediction",
    ),
}


@dataclass(frozen=True)
class Capabilities:
    """What an adapter can do; the runner reads this to decide what to skip.

    Parameters
    ----------
    modalities : frozenset of Modality
    requires : frozenset of Requirement
    stochastic : bool
        True when results depend on the seed (sampling estimators).
    output_space : str
        The space the attributions explain: ``"probability"``, ``"log_odds"`` or
        ``"logit"``; ``"model"`` when it depends on the model.
    global_only : bool
        True for dataset-level importances broadcast to every sample.

    Examples
    --------
    >>> caps = xb.Capabilities(modalities=frozenset({xb.Modality.IMAGE}), stochastic=True)
    >>> caps.stochastic, sorted(m.value for m in caps.modalities)
    (True, ['image'])
    """

    modalities: frozenset[Modality]
    requires: frozenset[Requirement] = frozenset()
    stochastic: bool = False
    output_space: str = "probability"
    global_only: bool = False


def check_compatible(capabilities: Capabilities, task: Task, name: str = "explainer") -> str | None:
    """Return why ``capabilities`` cannot serve ``task``, or None when they can."""
    if task.modality not in capabilities.modalities:
        mods = ", ".join(sorted(m.value for m in capabilities.modalities))
        return f"{name} supports {mods}, not {task.modality.value}"
    for req in sorted(capabilities.requires):
        ok, reason = _REQUIREMENT_CHECKS[req]
        if not ok(task):
            return f"{name} {reason}"
    return None


@runtime_checkable
class Explainer(Protocol):
    """An adapter: hyperparameters in ``__init__``, model and data in ``explain``.

    Examples
    --------
    >>> isinstance(xb.get_explainer("random"), xb.Explainer)
    True
    """

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def explain(self, task: Task, X: Any, *, targets: Any = None) -> Explanation: ...


class BaseExplainer(Parameterised):
    """Optional base for adapters: params by introspection, checks, timing and metadata.

    Subclasses set ``name``, ``capabilities``, ``library`` and implement
    ``_attribute(task, X, targets, scorer) -> ndarray`` (or ``(ndarray, meta)``).
    ``scorer`` is the task's scorer wrapped to count model calls.

    Examples
    --------
    >>> class Ones(xb.BaseExplainer):
    ...     name = "demo.ones"
    ...     library = "demo"
    ...     capabilities = xb.Capabilities(modalities=frozenset({xb.Modality.TABULAR}))
    ...     def _attribute(self, task, X, targets, scorer):
    ...         return np.ones(X.shape)
    >>> task = xb.load_task("synthetic.linear")
    >>> Ones().explain(task, task.X[:3]).attributions.shape
    (3, 8)
    """

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    library: ClassVar[str] = "xai-bench"
    # the wrapped library's default for each parameter that has one (an ``Upstream``
    # reference read from its signature, or a string); shown beside ours in the docs
    upstream_defaults: ClassVar[dict[str, Any]] = {}

    def explain(self, task: Task, X: Any, *, targets: Any = None) -> Explanation:
        reason = check_compatible(self.capabilities, task, self.name)
        if reason:
            raise IncompatibleError(reason)
        X = self._check_inputs(task, X)
        tgt = task.resolve_targets(X, targets)
        scorer = CountingScorer(task.predict)
        start = time.perf_counter()
        out = self._attribute(task, X, tgt, scorer)
        seconds = time.perf_counter() - start
        attr, extra = out if isinstance(out, tuple) else (out, {})
        attr = np.asarray(attr, dtype=np.float64)
        expected = (len(X), *np.shape(X)[1:])
        if attr.shape != expected:
            raise InvalidInputError(
                f"{self.name} produced attributions of shape {attr.shape}",
                f"shape {expected} (one value per input feature)",
                f"{type(self).__name__}._attribute must return one value per input feature"
                " (xai_bench.testing.check_explainer checks adapters).",
            )
        check_finite(attr, f"{self.name} attributions")
        meta = {
            "library": self.library,
            "library_version": version(self.library) if self.library != "xai-bench" else None,
            "output_space": self.capabilities.output_space,
            "seed": self.get_params().get("seed"),
            "model_calls": scorer.calls,
            "model_rows": scorer.rows,
            **extra,
        }
        meta["output_space"] = task.explained_space(meta["output_space"])  # regression, one logit
        mask = task.valid_mask(X) if task.modality in (Modality.TEXT, Modality.GENERATION) else None
        if mask is not None:  # padding and special tokens are not features: exactly 0
            attr = np.where(mask, attr, 0.0)
        return Explanation(
            attributions=attr,
            targets=tgt,
            explainer=self.name,
            params=self.get_params(),
            seconds=seconds,
            meta=meta,
            mask=mask,
        )

    def _check_inputs(self, task: Task, X: Any) -> np.ndarray:
        if task.modality is Modality.TABULAR:  # DataFrames, object columns, NaN named by cell
            X = as_feature_matrix(by_task_columns(X, task.feature_names), "X")[0]
        arr = np.asarray(X)
        if arr.ndim < 2 or len(arr) == 0:
            raise InvalidInputError(
                f"X with shape {arr.shape}",
                f"a non-empty batch shaped (n, {', '.join(map(str, task.feature_shape))})",
                "Slice the task's inputs, e.g. task.X[:8], to explain a batch.",
            )
        if arr.shape[1:] != task.feature_shape:
            raise InvalidInputError(
                f"X with feature shape {arr.shape[1:]}",
                f"the task's feature shape {task.feature_shape}",
                "Explain inputs from the same task (task.X[...]).",
            )
        if arr.dtype.kind == "f":
            check_finite(arr, "X")
        return arr

    def _attribute(
        self, task: Task, X: np.ndarray, targets: np.ndarray, scorer: CountingScorer
    ) -> np.ndarray | tuple[np.ndarray, dict[str, Any]]:
        raise NotImplementedError

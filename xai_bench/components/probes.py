"""Linear and k-sparse probes over one layer's MLP neurons (Gurnee et al. 2023).

A probe reads the label off the neurons' activations at one position: a *correlational*
ranking, not a causal one. A neuron that carries the label but that nothing reads ranks
high here and zero under patching, which is what the probe-vs-patching comparison shows.

Labels: ``run`` (clean rows 1, counterfactual rows 0: which behaviour the input calls
for) or ``answer`` (the clean rows' correct answer token). Activations are standardised
per neuron, so a neuron's rank does not follow its scale.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np
import torch

from .._torch import eval_mode
from ..errors import IncompatibleError, InvalidInputError
from ..explanation import Explanation
from ._common import check_choice, check_task, component_explanation
from ._passes import count_passes
from .space import neuron_space
from .task import ComponentTask

__all__ = ["LABELS", "SELECTIONS", "LinearProbe", "SparseProbe", "neuron_activations"]

LABELS = ("run", "answer")
SELECTIONS = ("mean_diff", "l1")


def neuron_activations(task: ComponentTask, layer: int, tokens: Any, position: int = -1) -> Any:
    """The neurons (B, d_mlp) of MLP ``layer`` (after the ReLU) at ``position``."""
    site = neuron_space(task.model, layer).sites[0]  # checks that the layer has an MLP
    seen: list[torch.Tensor] = []
    handle = site.hook.register_forward_hook(lambda _m, _i, out: seen.append(out.detach()))
    try:
        with torch.no_grad(), eval_mode(task.model):
            task.model(tokens)
    finally:
        handle.remove()
    return seen[0][:, position].double().numpy()


def probed_layer(task: ComponentTask, layer: int | None) -> int:
    """``layer``, else the task's neuron layer, else its first MLP layer."""
    own = task.neuron_layer
    if own is not None and layer is not None and layer != own:
        raise InvalidInputError(
            f"layer={layer} on a task over the neurons of layer {own}",
            "the task's neuron layer, or layer=None",
            f"Pass layer={own}, or probe the node-level task.",
        )
    if layer is not None:
        return layer
    if own is not None:
        return int(own)
    mlps = [i for i in range(task.model.n_layers) if task.model.block(i).has_mlp]
    if not mlps:  # a task this explainer cannot run on: the runner records a skip
        raise IncompatibleError(
            f"probes read MLP neurons, and task {task.name!r} has no MLP layer; "
            "probe a model with MLPs, or rank its heads with a node-level method"
        )
    return mlps[0]


def _accuracy(x: np.ndarray, y: np.ndarray, seed: int) -> float:
    """Cross-validated accuracy of a logistic probe (up to 5 stratified folds)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    folds = min(5, int(np.unique(y, return_counts=True)[1].min()))
    if folds < 2:
        return float(LogisticRegression(max_iter=1000).fit(x, y).score(x, y))
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return float(cross_val_score(LogisticRegression(max_iter=1000), x, y, cv=cv).mean())


def _l1_logistic(C: float) -> Any:
    """An L1-penalised logistic regression (scikit-learn 1.8 renamed penalty="l1")."""
    import sklearn
    from sklearn.linear_model import LogisticRegression

    major, minor = (int(p) for p in sklearn.__version__.split(".")[:2])
    l1: dict[str, Any] = {"l1_ratio": 1.0} if (major, minor) >= (1, 8) else {"penalty": "l1"}
    return LogisticRegression(solver="liblinear", C=C, max_iter=1000, **l1)


class LinearProbe:
    """A logistic-regression probe on standardised activations; ranking = |coefficient|.

    Parameters
    ----------
    layer : int, optional
        The MLP whose hidden units are probed; default: the task's neuron layer (a task
        over neurons), else the first MLP.
    label : {"run", "answer"}
    position : int
        The token position read (default: the last, where the answer is predicted).
    C : float
        Inverse L2 strength of the probe.
    seed : int
        Seed of the cross-validation folds behind ``meta["probe"]["accuracy"]``.
    """

    name: ClassVar[str] = "components.probe_linear"

    def __init__(
        self,
        layer: int | None = None,
        label: str = "run",
        position: int = -1,
        C: float = 1.0,
        seed: int = 0,
    ) -> None:
        check_choice("label", label, LABELS)
        if isinstance(C, bool) or not isinstance(C, int | float) or not C > 0:
            raise InvalidInputError(f"C={C!r}", "a number > 0", "Pass e.g. C=1.0.")
        self.layer, self.label, self.position = layer, label, int(position)
        self.C, self.seed = float(C), int(seed)

    def params(self) -> dict[str, Any]:
        return {"layer": self.layer, "label": self.label, "position": self.position, "C": self.C}

    def data(self, task: ComponentTask, layer: int) -> tuple[np.ndarray, np.ndarray]:
        """Standardised activations (N, d_mlp) of MLP ``layer`` and labels (N,)."""
        clean = neuron_activations(task, layer, task.clean, self.position)
        if self.label == "run":
            counter = neuron_activations(task, layer, task.counterfactual, self.position)
            x = np.vstack([clean, counter])
            y = np.repeat([1, 0], task.n_examples)
        else:
            x, y = clean, task.answers[:, 0].numpy()
        if np.unique(y).size < 2:
            raise InvalidInputError(
                f"one label class ({int(y[0])}) over {y.size} rows",
                "at least two classes to separate",
                "Use label='run', or examples with different answers.",
            )
        spread = x.std(axis=0)
        return (x - x.mean(axis=0)) / np.where(spread > 0, spread, 1.0), y

    def scores(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per neuron: the L2 norm over classes of its probe coefficients."""
        from sklearn.linear_model import LogisticRegression

        probe = LogisticRegression(C=self.C, max_iter=1000).fit(x, y)
        return np.linalg.norm(probe.coef_, axis=0)

    def explain(self, task: object) -> Explanation:
        task = check_task(task)
        started = time.perf_counter()
        layer = probed_layer(task, self.layer)
        with count_passes(task.model, task.n_examples) as counts:
            x, y = self.data(task, layer)
        scores = self.scores(x, y)
        k = self.k_for(len(scores))
        top = np.argsort(-scores, kind="stable")[:k]
        space = neuron_space(task.model, layer)
        return component_explanation(
            task,
            np.repeat(scores[None], task.n_examples, axis=0),
            self.name,
            self.params(),
            started,
            space,
            sign="unsigned: how strongly the probe reads the neuron (correlational, not causal)",
            direction="none",
            ablation="none",
            label=self.label,
            layer=layer,
            probe={"accuracy": _accuracy(x[:, top], y, self.seed), "k": k},
            selected=[space.names[j] for j in top],
            passes=counts.calls,
            forward_rows=counts.rows,
        )

    def k_for(self, n_neurons: int) -> int:
        """The neurons the probe's accuracy is measured on: all of them."""
        return n_neurons


class SparseProbe(LinearProbe):
    """A k-sparse probe: select k neurons, then fit a dense probe on them.

    Ranking = the selection score of every neuron: ``mean_diff``, the largest over
    classes of |mean in the class - mean outside| (standardised); ``l1``, |coefficient|
    of an L1-penalised logistic regression.

    Parameters
    ----------
    k : int
        Neurons selected.
    selection : {"mean_diff", "l1"}
    layer, label, position, C, seed
        As for :class:`LinearProbe` (``C`` is the L1 strength's inverse for ``l1``).
    """

    name: ClassVar[str] = "components.probe_sparse"

    def __init__(
        self,
        k: int = 1,
        selection: str = "mean_diff",
        layer: int | None = None,
        label: str = "run",
        position: int = -1,
        C: float = 1.0,
        seed: int = 0,
    ) -> None:
        super().__init__(layer, label, position, C, seed)
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InvalidInputError(f"k={k!r}", "a positive integer", "Pass e.g. k=1.")
        check_choice("selection", selection, SELECTIONS)
        self.k, self.selection = k, selection

    def params(self) -> dict[str, Any]:
        return {**super().params(), "k": self.k, "selection": self.selection}

    def scores(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if self.selection == "l1":
            return np.linalg.norm(_l1_logistic(self.C).fit(x, y).coef_, axis=0)
        gaps = [np.abs(x[y == c].mean(axis=0) - x[y != c].mean(axis=0)) for c in np.unique(y)]
        return np.max(gaps, axis=0)

    def k_for(self, n_neurons: int) -> int:
        if self.k > n_neurons:
            raise InvalidInputError(
                f"k={self.k}", f"at most the layer's {n_neurons} neurons", f"Pass k <= {n_neurons}."
            )
        return self.k

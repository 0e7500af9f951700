"""Relative stability (Agarwal et al., Rethinking Stability for Attribution-based
Explanations, 2022): how much the attributions change, relative to their size, per unit
of change in what the model sees. Lower is better.

Over ``n_samples`` noisy copies x' = x + u, u uniform in [low, high] per feature (Quantus's
default noise), the numerator is the relative change of the attributions
||(phi(x) - phi(x')) / phi(x)||_2 and the score is its largest ratio to

- **RIS**: the relative change of the input, ||(x - x') / x||_2;
- **ROS**: the change of the model's output, ||h(x) - h(x')||_2 (logits by default);
- **RRS**: the relative change of an internal representation L, ||(L(x) - L(x')) / L(x)||_2.

A zero entry of a divisor is replaced by ``eps_min`` and a denominator is at least
``eps_min`` (the paper's max(., eps_min)). Only copies that keep the predicted class
count (the paper's constraint): the score is the max over them, NaN (flag
``all_changed``) when none does. Quantus instead returns NaN as soon as one copy changes
the prediction; the flag ``prediction_changed`` marks those samples.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from .._params import Spec, count, positive
from ..errors import IncompatibleError, InvalidInputError
from ..explanation import Explanation
from ..task import Task
from ._common import BaseMetric
from .base import MetricInfo, MetricResult
from .perturb import max_rows
from .robustness import _REAL, Noisy, check_real, reexplain_noisy

__all__ = [
    "RelativeInputStability",
    "RelativeOutputStability",
    "RelativeRepresentationStability",
    "relative_input_stability",
    "relative_output_stability",
    "relative_representation_stability",
    "representation",
]

OUTPUTS = ("logits", "probability")


def relative_change(a: np.ndarray, b: np.ndarray, eps_min: float) -> np.ndarray:
    """||(a - b) / a||_2 over the last axis, zero entries of ``a`` replaced by ``eps_min``."""
    return np.linalg.norm((a - b) / np.where(a == 0, eps_min, a), axis=-1)


def _stability(
    metric: str,
    task: Task,
    X: Any,
    explanation: Explanation,
    denominator: Callable[[Noisy], np.ndarray],
    conventions: dict[str, Any],
    *,
    n_samples: int,
    low: float,
    high: float,
    eps_min: float,
    same_prediction: bool,
    seed: int,
) -> MetricResult:
    """The stability ``metric``; ``denominator(noisy)`` gives (S, n), ``conventions`` its params."""
    check_real(task, metric.replace("_", " "))
    if not low < high:
        raise InvalidInputError(
            f"low={low}, high={high}", "low < high", "Noise is drawn uniformly in [low, high]."
        )
    draw = lambda rng, size: rng.uniform(low, high, size=size)  # noqa: E731
    noisy = reexplain_noisy(task, X, explanation, n_samples, seed, draw)
    n = len(noisy.X)
    phi = noisy.explanation.flat()
    ratio = relative_change(phi[None], noisy.new, eps_min) / np.maximum(denominator(noisy), eps_min)
    moved = task.predicted(noisy.Xp.reshape(n_samples * n, *noisy.X.shape[1:]))
    changed = moved.reshape(n_samples, n) != task.predicted(noisy.X)[None]
    kept = ~changed if same_prediction else np.ones_like(changed)
    any_kept = kept.any(axis=0)
    scores = np.where(any_kept, np.where(kept, ratio, -np.inf).max(axis=0), np.nan)
    flags = {
        "prediction_changed": changed.any(axis=0),
        "all_changed": ~any_kept,
        "degenerate": noisy.explanation.degenerate(),
    }
    extra = {"kept": kept.sum(axis=0).astype(np.float64), **noisy.again.cost(n)}
    params = {
        "n_samples": n_samples,
        "noise": f"uniform in [{low:g}, {high:g}] per feature, drawn per sample from "
        "(seed, the sample's content)",
        "numerator": "||(phi(x) - phi(x')) / phi(x)||_2, zero entries of phi(x) -> eps_min",
        "eps_min": eps_min,
        "same_prediction": "max over the copies that keep the predicted class (NaN if none)"
        if same_prediction
        else "max over every copy",
        "seed": seed,
        **conventions,
    }
    return MetricResult(metric, scores, flags=flags, params=params, extra=extra)


_DOC_PARAMS = """
    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    n_samples : int
        Noisy copies per sample.
    low, high : float
        Noise drawn uniformly in [low, high], per feature (Quantus: 0.02, 0.2).
    eps_min : float
        Replaces zero divisors; floor of the denominator.
    same_prediction : bool
        Keep only the copies with the sample's predicted class (the paper); False: all.
    seed : int
"""


def relative_input_stability(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    n_samples: int = 10,
    low: float = 0.02,
    high: float = 0.2,
    eps_min: float = 1e-6,
    same_prediction: bool = True,
    seed: int = 0,
) -> MetricResult:
    """max_x' ||(phi(x) - phi(x')) / phi(x)|| / max(||(x - x') / x||, eps_min). Lower is better.
    {params}

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [0, inf); ``params`` records the conventions.

    Raises
    ------
    IncompatibleError
        If the inputs are not real-valued (tabular, image), or the explainer cannot re-explain.
    """

    def denominator(noisy: Noisy) -> np.ndarray:
        S, n = noisy.new.shape[:2]
        x = noisy.X.reshape(1, n, -1)
        return relative_change(x, noisy.Xp.reshape(S, n, -1), eps_min)

    conventions = {"denominator": "max(||(x - x') / x||_2, eps_min), zero entries of x -> eps_min"}
    return _stability(
        "relative_input_stability", task, X, explanation, denominator, conventions,
        n_samples=n_samples, low=low, high=high, eps_min=eps_min,
        same_prediction=same_prediction, seed=seed,
    )  # fmt: skip


def representation(task: Task, layer: str | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """A function from inputs (n, ...) to the flat activations (n, d) of a torch task's layer.

    ``layer``: ``None`` is the input of the output layer (the last module with parameters
    to run: the penultimate representation); a module name from ``named_modules()`` is
    that module's output; ``"all"`` concatenates the outputs of every module but the root
    and ``nn.Sequential`` containers, in call order (Quantus's default); ``"output"`` is
    the module's own return value.

    Parameters
    ----------
    task : Task
        A task with a torch model.
    layer : str, optional

    Returns
    -------
    callable
        ``X -> ndarray (n, d)``, float64.

    Raises
    ------
    IncompatibleError
        If the task has no torch model, or (``layer=None``) its output layer reads the
        inputs directly: there is no internal representation.
    InvalidInputError
        If ``layer`` names no module.
    """
    if not task.is_torch:
        raise IncompatibleError(
            f"task {task.name!r} has no torch model: its layers (logits, representations) "
            "cannot be read"
        )
    import torch

    from .._torch import eval_mode, model_dtype_device

    model = task.model
    named = dict(model.named_modules())
    if layer not in (None, "all", "output") and layer not in named:
        raise InvalidInputError(
            f"layer={layer!r}",
            "None, 'all', 'output' or a module name of the task's model: "
            + ", ".join(repr(k) for k in named if k),
            "Pick the layer whose output is the representation.",
        )
    dtype, device = model_dtype_device(model)

    def run(X: np.ndarray, hooks: Callable[[list, Any], list]) -> tuple[list, Any]:
        """Forward ``X`` with the hooks ``hooks(got, x)`` registers (they fill ``got``)."""
        got: list[Any] = []
        x = torch.as_tensor(np.asarray(X), device=device)
        x = x.to(dtype) if x.is_floating_point() else x
        handles = hooks(got, x)
        try:
            with eval_mode(model), torch.no_grad():
                out = model(x)
        finally:
            for h in handles:
                h.remove()
        return got, out

    def save(got: list) -> Callable[..., None]:
        return lambda _m, _i, out: got.append(out) if torch.is_tensor(out) else None

    head = _output_layer(task, run, named) if layer is None else None
    skip = (type(model), torch.nn.Sequential)

    def hooks(got: list, x: Any) -> list:
        if head is not None:  # the input of the output layer
            return [head.register_forward_pre_hook(lambda _m, i: got.append(i[0]))]
        if layer == "output":
            return []
        mods = (
            [m for m in named.values() if not isinstance(m, skip)]
            if layer == "all"
            else [named[layer]]
        )
        return [m.register_forward_hook(save(got)) for m in mods]

    def activations(X: np.ndarray) -> np.ndarray:
        rows = max_rows(task) or len(X)
        parts = []
        for start in range(0, len(X), rows):
            chunk = X[start : start + rows]
            got, out = run(chunk, hooks)
            tensors = [out] if layer == "output" else got
            flat = [t.detach().double().reshape(len(chunk), -1).cpu().numpy() for t in tensors]
            parts.append(np.concatenate(flat, axis=1))
        return np.concatenate(parts)

    return activations


def _output_layer(task: Task, run: Callable[..., tuple[list, Any]], named: dict) -> Any:
    """The last module with parameters to run in a forward pass (the output layer); an
    IncompatibleError when it reads the model's inputs (no internal representation)."""
    with_params = [m for m in named.values() if any(True for _ in m.parameters(recurse=False))]
    sample = np.asarray(task.X)[:1]
    order, _ = run(
        sample,
        lambda got, x: [
            m.register_forward_hook(lambda m, _i, _o: got.append(m)) for m in with_params
        ],
    )
    if not order:
        raise IncompatibleError(f"the model of task {task.name!r} has no layer with parameters")
    head = order[-1]
    (seen,), _ = run(
        sample, lambda got, x: [head.register_forward_pre_hook(lambda _m, i: got.append((i[0], x)))]
    )
    inp, x = seen
    if inp.data_ptr() == x.data_ptr() and inp.numel() == x.numel():
        name = next(k for k, m in named.items() if m is head) or type(head).__name__
        raise IncompatibleError(
            f"the model of task {task.name!r} has no internal representation: its output "
            f"layer ({name}) reads the inputs"
        )
    return head


def relative_output_stability(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    output: str = "logits",
    n_samples: int = 10,
    low: float = 0.02,
    high: float = 0.2,
    eps_min: float = 1e-6,
    same_prediction: bool = True,
    seed: int = 0,
) -> MetricResult:
    """max_x' ||(phi(x) - phi(x')) / phi(x)|| / max(||h(x) - h(x')||, eps_min). Lower is better.

    ``output="logits"`` reads the torch module's own output (a recorded skip for other
    models); ``"probability"`` uses ``task.predict`` (every model).
    {params}
    output : {"logits", "probability"}
        What h reads: the torch module's output, or ``task.predict``.

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [0, inf); ``params`` records the conventions.

    Raises
    ------
    IncompatibleError
        If the inputs are not real-valued, ``output="logits"`` meets a model that is not
        torch, or the explainer cannot re-explain.
    """
    if output not in OUTPUTS:
        raise InvalidInputError(f"output={output!r}", f"one of {OUTPUTS}", "Use 'logits'.")
    if output == "logits" and not task.is_torch:
        raise IncompatibleError(
            f"relative output stability on logits needs a torch model (task {task.name!r}); "
            "output='probability' works with any model"
        )
    h = task.predict if output == "probability" else representation(task, "output")

    def denominator(noisy: Noisy) -> np.ndarray:
        S, n = noisy.new.shape[:2]
        hx = h(noisy.X)
        hp = h(noisy.Xp.reshape(S * n, *noisy.X.shape[1:])).reshape(S, n, -1)
        return np.linalg.norm(hx[None] - hp, axis=-1)

    conventions = {
        "output": "the torch module's own output (its logits)"
        if output == "logits"
        else "task.predict",
        "denominator": "max(||h(x) - h(x')||_2, eps_min)",
    }
    return _stability(
        "relative_output_stability", task, X, explanation, denominator, conventions,
        n_samples=n_samples, low=low, high=high, eps_min=eps_min,
        same_prediction=same_prediction, seed=seed,
    )  # fmt: skip


def relative_representation_stability(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    layer: str | None = None,
    n_samples: int = 10,
    low: float = 0.02,
    high: float = 0.2,
    eps_min: float = 1e-6,
    same_prediction: bool = True,
    seed: int = 0,
) -> MetricResult:
    """max_x' ||(phi(x) - phi(x')) / phi(x)|| / max(||(L(x) - L(x')) / L(x)||, eps_min). Lower is better.

    L is the torch model's representation at ``layer`` (see :func:`representation`;
    default: the input of the output layer).
    {params}
    layer : str, optional
        The representation L (see :func:`representation`).

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [0, inf); ``params`` records the conventions.

    Raises
    ------
    IncompatibleError
        If the inputs are not real-valued, the task has no torch model or no internal
        representation, or the explainer cannot re-explain.
    """
    check_real(task, "relative representation stability")
    L = representation(task, layer)

    def denominator(noisy: Noisy) -> np.ndarray:
        S, n = noisy.new.shape[:2]
        lx = L(noisy.X)
        lp = L(noisy.Xp.reshape(S * n, *noisy.X.shape[1:])).reshape(S, n, -1)
        return relative_change(lx[None], lp, eps_min)

    conventions = {
        "layer": "the input of the output layer (penultimate representation)"
        if layer is None
        else layer,
        "denominator": "max(||(L(x) - L(x')) / L(x)||_2, eps_min), zero entries of L(x) -> eps_min",
    }
    return _stability(
        "relative_representation_stability", task, X, explanation, denominator, conventions,
        n_samples=n_samples, low=low, high=high, eps_min=eps_min,
        same_prediction=same_prediction, seed=seed,
    )  # fmt: skip


for _f in (relative_input_stability, relative_output_stability, relative_representation_stability):
    _f.__doc__ = (_f.__doc__ or "").replace("    {params}\n", _DOC_PARAMS)  # one shared section


_SPECS: dict[str, Spec] = {
    "n_samples": count(),
    "eps_min": positive(),
}

_STABILITY = "Agarwal et al., Rethinking Stability for Attribution-based Explanations, 2022"


class _Stability(BaseMetric):
    param_specs: ClassVar[dict[str, Spec]] = _SPECS

    def __init__(
        self,
        n_samples: int = 10,
        low: float = 0.02,
        high: float = 0.2,
        eps_min: float = 1e-6,
        same_prediction: bool = True,
        seed: int = 0,
    ) -> None:
        self.n_samples = n_samples
        self.low = low
        self.high = high
        self.eps_min = eps_min
        self.same_prediction = same_prediction
        self.seed = seed


class RelativeInputStability(_Stability):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="relative_input_stability",
        higher_is_better=False,
        range=(0.0, np.inf),
        modalities=_REAL,
        description="Largest relative change of the attributions per relative change of the "
        "input, over noisy copies with the same prediction",
        reference=_STABILITY,
        family="robustness",
        formula=r"\mathrm{RIS} = \max_{x'} \frac{\|(\phi(x) - \phi(x')) / \phi(x)\|_2}{\max(\|(x - x') / x\|_2,\ \epsilon_{\min})}",
    )
    _fn = staticmethod(relative_input_stability)


class RelativeOutputStability(_Stability):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="relative_output_stability",
        higher_is_better=False,
        range=(0.0, np.inf),
        modalities=_REAL,
        description="Largest relative change of the attributions per change of the model's "
        "logits, over noisy copies with the same prediction",
        reference=_STABILITY,
        family="robustness",
        formula=r"\mathrm{ROS} = \max_{x'} \frac{\|(\phi(x) - \phi(x')) / \phi(x)\|_2}{\max(\|h(x) - h(x')\|_2,\ \epsilon_{\min})}",
    )
    param_specs: ClassVar[dict[str, Spec]] = {"output": Spec("choice", choices=OUTPUTS)}

    def __init__(
        self,
        output: str = "logits",
        n_samples: int = 10,
        low: float = 0.02,
        high: float = 0.2,
        eps_min: float = 1e-6,
        same_prediction: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__(n_samples, low, high, eps_min, same_prediction, seed)
        self.output = output

    _fn = staticmethod(relative_output_stability)


class RelativeRepresentationStability(_Stability):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="relative_representation_stability",
        higher_is_better=False,
        range=(0.0, np.inf),
        modalities=_REAL,
        description="Largest relative change of the attributions per relative change of an "
        "internal representation (torch models), over noisy copies with the same prediction",
        reference=_STABILITY,
        family="robustness",
        formula=r"\mathrm{RRS} = \max_{x'} \frac{\|(\phi(x) - \phi(x')) / \phi(x)\|_2}{\max(\|(L(x) - L(x')) / L(x)\|_2,\ \epsilon_{\min})}",
    )

    def __init__(
        self,
        layer: str | None = None,
        n_samples: int = 10,
        low: float = 0.02,
        high: float = 0.2,
        eps_min: float = 1e-6,
        same_prediction: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__(n_samples, low, high, eps_min, same_prediction, seed)
        self.layer = layer

    _fn = staticmethod(relative_representation_stability)

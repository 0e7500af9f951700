"""Robustness metrics that re-run the explainer on perturbed inputs.

- **sensitivity-max** (Yeh et al., NeurIPS 2019): max over ``n_samples`` uniform
  perturbations |delta|_inf <= radius of ||phi(x + delta) - phi(x)|| / ||phi(x)||.
- **avg-sensitivity** (Yeh et al.): the mean of the same ratio over the same draws.
- **local Lipschitz estimate** (Alvarez-Melis & Jaakkola, 2018): max over Gaussian
  neighbours of ||phi(x) - phi(x')|| / ||x - x'||.
- **continuity** (Montavon et al., 2018): max over horizontal translations of an image of
  ||phi(x) - phi(x')||_1 / ||x - x'||_2.
- **consistency** (Dasgupta et al., 2022): among reference inputs whose discretised
  explanation equals the sample's, the share predicted as the sample.

The relative stability metrics (Agarwal et al., 2022) live in ``stability``. Every random
draw comes from the sample's own generator (seed, its content), so a score never depends
on the batch; Quantus draws from numpy's global generator over the whole batch.

Model randomisation (Adebayo et al.) lives in ``randomisation`` and reuses the helpers here.

The explainer is rebuilt from the explanation as
``xai_bench.get_explainer(explanation.explainer, **explanation.params)``.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import numpy as np

from .._params import Spec, choice, count, positive
from .._rng import sample_rngs
from ..errors import IncompatibleError, InvalidInputError, XaiBenchError
from ..explanation import Explanation
from ..task import Modality, Task
from ._common import BaseMetric
from .base import MetricInfo, MetricResult
from .perturb import prepare

__all__ = [
    "AvgSensitivity",
    "Consistency",
    "Continuity",
    "LocalLipschitzEstimate",
    "SensitivityMax",
    "avg_sensitivity",
    "consistency",
    "continuity",
    "local_lipschitz_estimate",
    "sensitivity_max",
]

_REAL = frozenset({Modality.TABULAR, Modality.IMAGE})


def _explainer(explanation: Explanation) -> Any:
    from ..registry import get_explainer

    try:
        return get_explainer(explanation.explainer, **explanation.params)
    except XaiBenchError as exc:
        raise IncompatibleError(
            f"cannot rebuild explainer {explanation.explainer!r} to re-explain: {exc}"
        ) from exc


def _reexplain(explainer: Any, task: Task, X: np.ndarray, targets: np.ndarray) -> np.ndarray:
    return _explain_again(explainer, task, X, targets).flat()


def _explain_again(explainer: Any, task: Task, X: np.ndarray, targets: np.ndarray) -> Explanation:
    try:
        return explainer.explain(task, X, targets=targets)
    except IncompatibleError:
        raise
    except XaiBenchError as exc:
        raise IncompatibleError(f"{explainer!r} cannot re-explain new inputs: {exc}") from exc


def sensitivity_max(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    radius: float = 0.02,
    n_samples: int = 10,
    normalise: bool = True,
    seed: int = 0,
) -> MetricResult:
    """Max relative change of the attributions under small input noise. Lower is better.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    radius : float
        Noise drawn uniformly in [-radius, radius], per feature.
    n_samples : int
        Noisy copies per sample.
    normalise : bool
        Divide by the norm of the original attributions.
    seed : int

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [0, inf); ``params`` records the conventions.

    Raises
    ------
    IncompatibleError
        If the inputs are not real-valued (tabular, image), or the explainer cannot re-explain.
    """
    return _sensitivity("sensitivity_max", task, X, explanation, radius, n_samples, normalise, seed)


class SensitivityMax(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="sensitivity_max",
        higher_is_better=False,
        range=(0.0, np.inf),
        modalities=_REAL,
        description="Max relative change of the attributions under small uniform input noise",
        reference="Yeh et al., On the (In)fidelity and Sensitivity of Explanations, NeurIPS 2019",
        family="robustness",
        formula=r"\mathrm{SENS} = \max_{\|\delta\|_\infty \le r} \frac{\|\phi(x + \delta) - \phi(x)\|_2}{\|\phi(x)\|_2}",
    )

    def __init__(
        self, radius: float = 0.02, n_samples: int = 10, normalise: bool = True, seed: int = 0
    ) -> None:
        self.radius = radius
        self.n_samples = n_samples
        self.normalise = normalise
        self.seed = seed

    _fn = staticmethod(sensitivity_max)


# -- shared by the re-explaining metrics: the stability metrics and input invariance use them too


class Reexplainer:
    """The explanation's explainer, re-run on new inputs, counting what it re-explains.

    ``cost(n)`` gives the per-sample extras every re-explaining metric records (the
    runner stores them next to the score): ``reexplained``, the inputs re-explained per
    sample, and ``reexplain_model_calls``, the model calls of those re-explanations
    shared equally by the samples (NaN when the explainer does not count them).
    """

    def __init__(self, explanation: Explanation) -> None:
        self.explainer = _explainer(explanation)
        self.rows = 0
        self.model_calls = 0.0

    def __call__(self, task: Task, X: np.ndarray, targets: np.ndarray) -> np.ndarray:
        again = _explain_again(self.explainer, task, X, targets)
        self.rows += len(X)
        calls = again.meta.get("model_calls")
        self.model_calls += np.nan if calls is None else float(calls)
        return again.flat()

    def cost(self, n: int) -> dict[str, np.ndarray]:
        return {
            "reexplained": np.full(n, self.rows / n),
            "reexplain_model_calls": np.full(n, self.model_calls / n),
        }


def check_real(task: Task, metric: str) -> None:
    """Refuse (a recorded skip) inputs that cannot be perturbed by adding noise."""
    if task.modality not in _REAL:
        raise IncompatibleError(f"{metric} perturbs real-valued inputs (tabular, image)")


def noisy_copies(Xa: np.ndarray, seed: int, n_samples: int, draw: Any) -> np.ndarray:
    """``Xa`` (n, ...) plus noise, shape (n_samples, n, ...).

    ``draw(rng, size)`` runs once per sample with that sample's generator, seeded by
    (seed, its content): a sample's draws never depend on its batch (the same draws as
    ``sensitivity_max`` for ``rng.uniform(-radius, radius, size)``).
    """
    size = (n_samples, *Xa.shape[1:])
    noise = np.stack([draw(rng, size) for rng in sample_rngs(Xa, seed)], axis=1)
    return Xa[None] + noise


class Noisy(NamedTuple):
    """Checked inputs (n, ...), their explanation, the noisy copies (S, n, ...), their
    attributions (S, n, F) and the re-explainer that made them (its cost)."""

    X: np.ndarray
    explanation: Explanation
    Xp: np.ndarray
    new: np.ndarray
    again: Reexplainer


def reexplain_noisy(
    task: Task, X: Any, explanation: Explanation, n_samples: int, seed: int, draw: Any
) -> Noisy:
    """Re-explain ``n_samples`` noisy copies of every input (one explainer call, same targets)."""
    Xa, explanation = prepare(task, X, explanation)
    Xa = Xa.astype(np.float64)
    n = len(Xa)
    Xp = noisy_copies(Xa, seed, n_samples, draw)
    again = Reexplainer(explanation)
    flat = Xp.reshape(n_samples * n, *Xa.shape[1:])
    new = again(task, flat, np.tile(explanation.targets, n_samples))
    return Noisy(Xa, explanation, Xp, new.reshape(n_samples, n, -1), again)


#: How ``normalised`` rescales (recorded in ``params``).
NORMALISE_RULE = "phi / max|phi| per sample (all-zero maps unchanged)"


def normalised(a: np.ndarray, normalise: bool, absolute: bool) -> np.ndarray:
    """Attributions (..., F) divided by their max |a| per row (rows of zeros left as they
    are, as Quantus's ``normalise_by_max``), then made absolute if ``absolute``."""
    a = np.asarray(a, dtype=np.float64)
    if normalise:
        top = np.abs(a).max(axis=-1, keepdims=True)
        a = np.divide(a, top, out=a.copy(), where=top > 0)
    return np.abs(a) if absolute else a


def avg_sensitivity(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    radius: float = 0.02,
    n_samples: int = 10,
    normalise: bool = True,
    seed: int = 0,
) -> MetricResult:
    """Mean relative change of the attributions under small input noise. Lower is better.

    The average over the draws of ``sensitivity_max``'s ratio, on the same draws (same
    ``radius``, ``n_samples`` and ``seed`` give the same noise).

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    radius : float
        Noise drawn uniformly in [-radius, radius], per feature.
    n_samples : int
        Noisy copies per sample.
    normalise : bool
        Divide by the norm of the original attributions.
    seed : int

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [0, inf); ``params`` records the conventions.

    Raises
    ------
    IncompatibleError
        If the inputs are not real-valued (tabular, image), or the explainer cannot re-explain.
    """
    return _sensitivity("avg_sensitivity", task, X, explanation, radius, n_samples, normalise, seed)


def _sensitivity(
    metric: str,
    task: Task,
    X: Any,
    explanation: Explanation,
    radius: float,
    n_samples: int,
    normalise: bool,
    seed: int,
) -> MetricResult:
    """Max-/Avg-Sensitivity: one set of draws, the max or the mean over the copies."""
    check_real(task, metric.replace("_", "-"))
    draw = lambda rng, size: rng.uniform(-radius, radius, size=size)  # noqa: E731
    noisy = reexplain_noisy(task, X, explanation, n_samples, seed, draw)
    phi = noisy.explanation.flat()
    diff = np.linalg.norm(noisy.new - phi[None], axis=2)
    norm = np.linalg.norm(phi, axis=1)
    if normalise:
        diff = np.divide(diff, norm[None], out=np.full_like(diff, np.inf), where=norm[None] > 0)
    aggregate = "max" if metric == "sensitivity_max" else "mean"
    return MetricResult(
        metric=metric,
        scores=diff.max(axis=0) if aggregate == "max" else diff.mean(axis=0),
        flags={"degenerate": noisy.explanation.degenerate()},
        extra=noisy.again.cost(len(phi)),
        params={
            "radius": radius,
            "n_samples": n_samples,
            "noise": "uniform in [-radius, radius] per feature, drawn per sample from "
            "(seed, the sample's content)",
            "normalise": "divide by ||phi(x)||_2" if normalise else "none",
            "aggregate": f"{aggregate} over the noisy copies",
            "seed": seed,
        },
    )


class AvgSensitivity(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="avg_sensitivity",
        higher_is_better=False,
        range=(0.0, np.inf),
        modalities=_REAL,
        description="Mean relative change of the attributions under small uniform input noise",
        reference="Yeh et al., On the (In)fidelity and Sensitivity of Explanations, NeurIPS 2019",
        family="robustness",
        formula=r"\mathrm{SENS}_{\mathrm{avg}} = \mathbb{E}_{\|\delta\|_\infty \le r} \frac{\|\phi(x + \delta) - \phi(x)\|_2}{\|\phi(x)\|_2}",
    )

    def __init__(
        self, radius: float = 0.02, n_samples: int = 10, normalise: bool = True, seed: int = 0
    ) -> None:
        self.radius = radius
        self.n_samples = n_samples
        self.normalise = normalise
        self.seed = seed

    _fn = staticmethod(avg_sensitivity)


def local_lipschitz_estimate(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    sigma: float = 0.1,
    n_samples: int = 10,
    normalise: bool = True,
    absolute: bool = False,
    seed: int = 0,
) -> MetricResult:
    """max over Gaussian neighbours x' of ||phi(x) - phi(x')||_2 / ||x - x'||_2. Lower is better.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    sigma : float
        Standard deviation of the Gaussian noise added to every feature.
    n_samples : int
        Neighbours per sample.
    normalise : bool
        Divide both attributions by their own max |phi| first, per sample. Quantus 0.6
        normalises by default too, but by the max over its whole batch (once for phi,
        once per step for the re-explanations), so its score depends on the batch; pass
        it a per-sample ``normalise_func`` to get ours.
    absolute : bool
        Compare |phi| instead of phi.
    seed : int

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [0, inf); ``params`` records the conventions.

    Raises
    ------
    IncompatibleError
        If the inputs are not real-valued (tabular, image), or the explainer cannot re-explain.
    """
    check_real(task, "local Lipschitz estimate")
    draw = lambda rng, size: rng.normal(0.0, sigma, size=size)  # noqa: E731
    noisy = reexplain_noisy(task, X, explanation, n_samples, seed, draw)
    n = len(noisy.X)
    phi = normalised(noisy.explanation.flat(), normalise, absolute)
    new = normalised(noisy.new, normalise, absolute)
    dx = np.linalg.norm((noisy.Xp - noisy.X[None]).reshape(n_samples, n, -1), axis=2)
    ratio = np.linalg.norm(new - phi[None], axis=2) / (dx + LIPSCHITZ_EPS)
    return MetricResult(
        metric="local_lipschitz_estimate",
        scores=ratio.max(axis=0),
        flags={"degenerate": noisy.explanation.degenerate()},
        extra=noisy.again.cost(n),
        params={
            "sigma": sigma,
            "n_samples": n_samples,
            "noise": "N(0, sigma^2) per feature, drawn per sample from (seed, the sample's content)",
            "ratio": f"||phi(x) - phi(x')||_2 / (||x - x'||_2 + {LIPSCHITZ_EPS:g}), max over x'",
            "normalise": NORMALISE_RULE if normalise else "none",
            "absolute": absolute,
            "seed": seed,
        },
    )


#: Added to the input distance of the Lipschitz ratio (Quantus's value).
LIPSCHITZ_EPS = 1e-10


class LocalLipschitzEstimate(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="local_lipschitz_estimate",
        higher_is_better=False,
        range=(0.0, np.inf),
        modalities=_REAL,
        description="Largest ratio of attribution change to input change over Gaussian neighbours",
        reference="Alvarez-Melis & Jaakkola, On the Robustness of Interpretability Methods, "
        "WHI @ ICML 2018",
        family="robustness",
        formula=r"\mathrm{LLE} = \max_{x' = x + \epsilon,\ \epsilon \sim \mathcal{N}(0, \sigma^2 I)} \frac{\|\phi(x) - \phi(x')\|_2}{\|x - x'\|_2}",
    )
    param_specs: ClassVar[dict[str, Spec]] = {"sigma": positive()}

    def __init__(
        self,
        sigma: float = 0.1,
        n_samples: int = 10,
        normalise: bool = True,
        absolute: bool = False,
        seed: int = 0,
    ) -> None:
        self.sigma = sigma
        self.n_samples = n_samples
        self.normalise = normalise
        self.absolute = absolute
        self.seed = seed

    _fn = staticmethod(local_lipschitz_estimate)


def translations(width: int, steps: int) -> np.ndarray:
    """Quantus's horizontal shifts: -W + k dx for k = 1..steps, dx = (2W + 1) // steps.

    ``steps`` is capped at 2W so that dx >= 1 (more steps would repeat the shift -W).
    """
    steps = min(steps, 2 * width)
    dx = (2 * width + 1) // steps
    return -width + dx * np.arange(1, steps + 1)


def translate(X: np.ndarray, shift: int, fill: np.ndarray) -> np.ndarray:
    """Images (n, ..., W) moved ``shift`` pixels along the last axis (right when positive);
    the uncovered columns take ``fill`` (one value per image)."""
    out = np.broadcast_to(fill.reshape(-1, *([1] * (X.ndim - 1))), X.shape).copy()
    w = X.shape[-1]
    if abs(shift) < w:
        if shift >= 0:
            out[..., shift:] = X[..., : w - shift]
        else:
            out[..., : w + shift] = X[..., -shift:]
    return out


def continuity(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    steps: int = 28,
    fill: Any = "min",
    normalise: bool = True,
    absolute: bool = True,
) -> MetricResult:
    """max over horizontal translations x' of ||phi(x) - phi(x')||_1 / ||x - x'||_2. Lower is better.

    Parameters
    ----------
    task, X, explanation
        The task, the explained images and their attributions.
    steps : int
        Number of translations (capped at twice the width), see :func:`translations`.
    fill : "min" or float
        Value of the uncovered columns: each image's minimum (Quantus's "black"), or a number.
    normalise, absolute : bool
        Divide each map by its max |phi|, then take |phi| (Quantus's defaults).

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [0, inf); ``params`` records the conventions.

    Raises
    ------
    IncompatibleError
        If the inputs are not images, or the explainer cannot re-explain.
    """
    if task.modality is not Modality.IMAGE:
        raise IncompatibleError("continuity translates images; it needs an image task")
    Xa, explanation = prepare(task, X, explanation)
    Xa = Xa.astype(np.float64)
    n = len(Xa)
    by_min = isinstance(fill, str)  # "min", the only string the spec lets through
    pad = Xa.reshape(n, -1).min(axis=1) if by_min else np.full(n, float(fill))
    shifts = translations(Xa.shape[-1], steps)
    moved = np.stack([translate(Xa, int(s), pad) for s in shifts])  # (S, n, C, H, W)
    again = Reexplainer(explanation)
    S = len(shifts)
    new = again(task, moved.reshape(S * n, *Xa.shape[1:]), np.tile(explanation.targets, S))
    phi = normalised(explanation.flat(), normalise, absolute)
    new = normalised(new.reshape(S, n, -1), normalise, absolute)
    dx = np.linalg.norm((moved - Xa[None]).reshape(S, n, -1), axis=2)
    ratio = np.abs(new - phi[None]).sum(axis=2) / (dx + CONTINUITY_EPS)
    # a translation that leaves the image as it is (shift 0) says nothing (0 / 0): with
    # Quantus's 1e-9 any rounding difference of the re-explanation would dominate the max
    moved_any = (dx > 0).any(axis=0)
    scores = np.where(moved_any, np.where(dx > 0, ratio, -np.inf).max(axis=0), np.nan)
    return MetricResult(
        metric="continuity",
        scores=scores,
        flags={"degenerate": explanation.degenerate(), "unchanged": ~moved_any},
        extra=again.cost(n),
        params={
            "shifts": shifts.tolist(),
            "steps_used": S,
            "fill": "each image's minimum" if by_min else float(fill),
            "ratio": f"||phi(x) - phi(x')||_1 / (||x - x'||_2 + {CONTINUITY_EPS:g}), max over the "
            "shifts that change the image",
            "normalise": NORMALISE_RULE if normalise else "none",
            "absolute": absolute,
        },
    )


#: Added to the input distance of the continuity ratio (Quantus's value).
CONTINUITY_EPS = 1e-9


class Continuity(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="continuity",
        higher_is_better=False,
        range=(0.0, np.inf),
        modalities=frozenset({Modality.IMAGE}),
        description="Largest L1 change of the map per unit of input change over horizontal "
        "translations of the image",
        reference="Montavon et al., Methods for Interpreting and Understanding Deep Neural "
        "Networks, Digital Signal Processing 2018",
        family="robustness",
        formula=r"\mathrm{CONT} = \max_{t} \frac{\|\phi(x) - \phi(\tau_t x)\|_1}{\|x - \tau_t x\|_2}, \quad \tau_t = \text{translation by } t \text{ pixels}",
    )
    param_specs: ClassVar[dict[str, Spec]] = {"fill": choice("min", other=True)}

    def __init__(
        self, steps: int = 28, fill: Any = "min", normalise: bool = True, absolute: bool = True
    ) -> None:
        self.steps = steps
        self.fill = fill
        self.normalise = normalise
        self.absolute = absolute

    _fn = staticmethod(continuity)


DISCRETISE = ("top_n_sign", "first_n_sign", "sign", "rank")


def discretised(a: np.ndarray, discretise: str, top_n: int) -> np.ndarray:
    """One integer label per row of ``a`` (n, F): rows with equal labels count as the same
    explanation.

    ``"top_n_sign"``: the set of the ``top_n`` features with the largest |a| (ties by
    column order) and their signs; ``"first_n_sign"``: the signs of the first ``top_n``
    entries (Quantus's ``top_n_sign``); ``"sign"``: every sign; ``"rank"``: the order of
    all features by decreasing a (ties by column order).
    """
    a = np.asarray(a, dtype=np.float64)
    if discretise == "top_n_sign":
        idx = np.sort(np.argsort(-np.abs(a), axis=1, kind="stable")[:, :top_n], axis=1)
        keys = np.concatenate([idx, np.sign(np.take_along_axis(a, idx, 1))], axis=1)
    elif discretise == "first_n_sign":
        keys = np.sign(a[:, :top_n])
    elif discretise == "sign":
        keys = np.sign(a)
    elif discretise == "rank":
        keys = np.argsort(-a, axis=1, kind="stable")
    else:
        raise InvalidInputError(
            f"discretise={discretise!r}", f"one of {DISCRETISE}", "Use 'top_n_sign'."
        )
    keys = np.ascontiguousarray(keys + 0.0)  # + 0.0: -0.0 and 0.0 are the same sign
    return np.unique(keys, axis=0, return_inverse=True)[1].reshape(-1)


def consistency(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    n_reference: int = 64,
    discretise: str = "top_n_sign",
    top_n: int = 5,
    absolute: bool = False,
) -> MetricResult:
    """Share of the reference inputs explained alike that are also predicted alike. Higher is better.

    The reference set is the task's first ``n_reference`` inputs, each explained for its
    predicted class by the same explainer (re-explained per call; inputs equal to the
    sample are left out). Its attributions and the sample's are discretised
    (:func:`discretised`); the score is the share of the references with the sample's
    label whose predicted class is the sample's; 0 (flag ``no_match``) when no reference
    shares the label, as in Quantus: an explanation no other input gets says nothing
    about the model elsewhere (and a random control must rank, not drop out).

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    n_reference : int
        Reference inputs: ``task.X[:n_reference]``.
    discretise : {"top_n_sign", "first_n_sign", "sign", "rank"}
    top_n : int
        Features in the ``*_n_sign`` labels.
    absolute : bool
        Discretise |phi| (Quantus's default; it makes every sign label 0 or 1).

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [0, 1]; ``params`` records the conventions.

    Raises
    ------
    IncompatibleError
        If the inputs are not real-valued (tabular, image), or the explainer cannot re-explain.
    """
    check_real(task, "consistency")
    Xa, explanation = prepare(task, X, explanation)
    Xa = np.ascontiguousarray(Xa)  # torch refuses negative strides (X[::-1])
    n = len(Xa)
    ref = np.asarray(task.X)[:n_reference]
    ref_pred = task.predicted(ref)
    pred = task.predicted(Xa)
    again = Reexplainer(explanation)
    ref_phi = again(task, ref, ref_pred)
    phi = explanation.flat()
    both = np.concatenate([phi, ref_phi])
    labels = discretised(np.abs(both) if absolute else both, discretise, top_n)
    label, ref_label = labels[:n], labels[n:]
    ref_flat = ref.reshape(len(ref), -1)
    scores = np.zeros(n)
    matches = np.zeros(n)
    for i, x in enumerate(Xa.reshape(n, -1)):
        same = (ref_label == label[i]) & ~(ref_flat == x).all(axis=1)
        matches[i] = same.sum()
        if matches[i]:
            scores[i] = np.mean(ref_pred[same] == pred[i])
    return MetricResult(
        metric="consistency",
        scores=scores,
        flags={"no_match": matches == 0, "degenerate": explanation.degenerate()},
        extra={"matches": matches, **again.cost(n)},
        params={
            "reference": f"task.X[:{n_reference}], explained for their predicted class; "
            "inputs equal to the sample left out",
            "n_reference": len(ref),
            "discretise": discretise,
            "top_n": top_n,
            "ties": "column order (stable sort)",
            "absolute": absolute,
            "prediction": "argmax of task.predict",
            "no_match": "0 (no reference shares the label)",
        },
    )


class Consistency(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="consistency",
        higher_is_better=True,
        range=(0.0, 1.0),
        modalities=_REAL,
        description="Share of reference inputs with the same discretised explanation that "
        "also get the same prediction",
        reference="Dasgupta et al., Framework for Evaluating Faithfulness of Local "
        "Explanations, ICML 2022",
        family="robustness",
        formula=r"\mathrm{CONS}(x) = \Pr_{x' \in R}\big[\hat{y}(x') = \hat{y}(x) \mid d(\phi(x')) = d(\phi(x)),\ x' \ne x\big]",
    )
    param_specs: ClassVar[dict[str, Spec]] = {
        "n_reference": count(),
        "discretise": choice(*DISCRETISE),
        "top_n": count(),
    }

    def __init__(
        self,
        n_reference: int = 64,
        discretise: str = "top_n_sign",
        top_n: int = 5,
        absolute: bool = False,
    ) -> None:
        self.n_reference = n_reference
        self.discretise = discretise
        self.top_n = top_n
        self.absolute = absolute

    _fn = staticmethod(consistency)

"""Maskers: what "removing" a feature means. Each one is a recorded parameter.

A masker holds hyperparameters only; ``bind(task, X)`` returns the fill function the
engine calls on chunks: ``fill(X_rows, removed, sample_index) -> perturbed rows`` (flat).

- :class:`ConstantMasker` - a constant baseline: the task default, the background mean,
  each sample's minimum (Quantus' "black"), zero or a user value;
- :class:`BackgroundMasker` - one seeded background sample per explained sample;
- :class:`TokenMasker` - text: replace removed tokens by a token id, or delete them;
- :class:`ImputeMasker` - ROAD-style in-distribution imputation: Gaussian conditional
  mean for tabular data, noisy-linear neighbour interpolation for images.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._params import Parameterised, Spec, choice
from .._rng import sample_rngs
from ..errors import IncompatibleError, InvalidInputError
from ..task import Modality, Task
from .perturb import Fill

__all__ = [
    "BackgroundMasker",
    "ConstantMasker",
    "ImputeMasker",
    "Masker",
    "Replace",
    "TokenMasker",
    "describe",
    "resolve_masker",
]

TEXT = (Modality.TEXT, Modality.GENERATION)


class Masker(Parameterised):
    """Base: parameters by introspection; subclasses implement ``bind``."""

    name: ClassVar[str] = "masker"

    def bind(self, task: Task, X: np.ndarray) -> Fill:  # pragma: no cover - interface
        raise NotImplementedError


def select(removed: np.ndarray, base: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``np.where(removed, base, rows)`` written into ``rows`` (a fresh array) by bit selection.

    Exact (it copies bit patterns) and about twice as fast as ``np.where`` on large batches.
    """
    b = np.ascontiguousarray(np.broadcast_to(np.asarray(base, dtype=rows.dtype), rows.shape[-1:]))
    if base.ndim > 1 or not rows.flags.c_contiguous or rows.dtype.itemsize not in (1, 2, 4, 8):
        return np.where(removed, np.asarray(base, dtype=rows.dtype), rows)
    u = np.dtype(f"u{rows.dtype.itemsize}")
    r = rows.view(u)
    mask = removed.astype(u)
    np.negative(mask, out=mask)  # 0 -> 0, 1 -> all bits set
    diff = r ^ b.view(u)
    diff &= mask
    r ^= diff
    return rows


class Replace:
    """The fill of every elementwise masker: each removed cell takes a fixed value.

    ``values`` is shared (F,) (or a scalar) or per sample (n, F). Because a removed cell's
    value does not depend on which other cells are removed, the engine may build a curve
    grid step by step, changing only the cells removed since the previous step
    (:func:`xai_bench.metrics.perturb.stepwise_inputs`), with identical inputs.
    """

    def __init__(self, values: np.ndarray, per_sample: bool) -> None:
        self.values, self.per_sample = np.asarray(values), per_sample

    def replacement(self, index: np.ndarray, F: int, dtype: np.dtype) -> np.ndarray:
        """The values of samples ``index``: (len(index), F), or (F,) when shared."""
        if self.per_sample:
            return self.values[index].astype(dtype, copy=False)
        return np.broadcast_to(self.values.astype(dtype, copy=False), (F,))

    def __call__(self, rows: np.ndarray, removed: np.ndarray, index: np.ndarray) -> np.ndarray:
        if self.per_sample:
            return np.where(removed, self.replacement(index, rows.shape[1], rows.dtype), rows)
        return select(removed, self.values, rows)


class ConstantMasker(Masker):
    """Replace removed features by a constant baseline.

    Parameters
    ----------
    value : "default" | "mean" | "min" | "zero" | float | array
        ``"default"``: ``task.removal_value()`` (background mean for tabular, zeros for
        images, the mask/pad token for text); ``"mean"``: per-feature mean of the
        background (else of X); ``"min"``: each sample's minimum over its features
        (Quantus PixelFlipping's "black"); ``"zero"``; a number; or an array of the
        task's feature shape.
    """

    name: ClassVar[str] = "constant"

    def __init__(self, value: Any = "default") -> None:
        self.value = value

    def baseline(self, task: Task, X: np.ndarray) -> tuple[np.ndarray, bool]:
        """The baseline, flat: (F,) shared, or (n, F) per sample (flag True)."""
        v = self.value
        numeric_only = v in ("mean", "min") if isinstance(v, str) else False
        if numeric_only and task.modality in TEXT:
            raise IncompatibleError(
                f"baseline {v!r} is not defined on token ids ({task.modality.value} task); "
                "use baseline='default' (the mask token) or a TokenMasker"
            )
        if isinstance(v, str):
            if v == "default":
                return np.asarray(task.removal_value()).reshape(-1), False
            if v == "zero":
                return np.zeros(X.shape[1]), False
            if v == "mean":
                ref = task.background if task.background is not None else task.X
                ref = np.asarray(ref, dtype=np.float64)
                return ref.reshape(len(ref), -1).mean(axis=0), False
            if v == "min":
                return np.repeat(X.min(axis=1, keepdims=True), X.shape[1], axis=1), True
            raise InvalidInputError(
                f"baseline={v!r}",
                "'default', 'mean', 'min', 'zero', a number, an array or a Masker",
                "Use baseline='default' for the task's removal value.",
            )
        if isinstance(v, int | float | np.number):
            return np.full(X.shape[1], float(v)), False
        arr = np.asarray(v)
        if arr.size != X.shape[1]:
            raise InvalidInputError(
                f"baseline array of shape {arr.shape}",
                f"one value per feature ({X.shape[1]} in all)",
                "Pass an array of the task's feature shape, or a number.",
            )
        return arr.reshape(-1), False

    def bind(self, task: Task, X: np.ndarray) -> Fill:
        base, per_sample = self.baseline(task, X)
        return Replace(base, per_sample)


class BackgroundMasker(Masker):
    """Replace removed features by those of one background sample drawn per explained sample.

    Parameters
    ----------
    seed : int
        Seeds which background row each sample gets (the same row at every step).
    """

    name: ClassVar[str] = "background"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def bind(self, task: Task, X: np.ndarray) -> Fill:
        if task.background is None:
            raise IncompatibleError(f"task {task.name!r} has no background data to sample from")
        bg = np.asarray(task.background).reshape(len(task.background), -1)
        pick = np.array([rng.integers(0, len(bg)) for rng in sample_rngs(X, self.seed)])
        return Replace(bg[pick], True)


class TokenMasker(Masker):
    """Text: replace removed tokens by a token id, or delete them (the rest shifts left).

    Parameters
    ----------
    token : "mask" | "pad" | "unk" | int
        Replacement token (``mode="replace"``); ``"mask"`` falls back to pad when the
        task has no mask token.
    mode : "replace" | "delete"
        ``"delete"`` drops removed tokens and right-pads with ``task.pad_token_id``.
    """

    name: ClassVar[str] = "token"
    param_specs: ClassVar[dict[str, Spec]] = {"mode": choice("replace", "delete")}

    def __init__(self, token: str | int = "mask", mode: str = "replace") -> None:
        self.token = token
        self.mode = mode

    def _token_id(self, task: Task) -> int:
        if isinstance(self.token, int | np.integer):
            return int(self.token)
        ids = {
            "mask": task.mask_token_id if task.mask_token_id is not None else task.pad_token_id,
            "pad": task.pad_token_id,
            "unk": getattr(task.tokenizer, "unk_token_id", None),
        }
        token = ids.get(str(self.token))
        if token is None:
            raise IncompatibleError(f"task {task.name!r} has no {self.token!r} token id")
        return int(token)

    def bind(self, task: Task, X: np.ndarray) -> Fill:
        if task.modality not in TEXT:
            raise IncompatibleError(f"TokenMasker needs a text task, not {task.modality.value}")
        if self.mode == "replace":
            return Replace(np.asarray(self._token_id(task)), False)
        if self.mode != "delete":
            raise InvalidInputError(
                f"mode={self.mode!r}", "'replace' or 'delete'", "Use mode='replace'."
            )
        if task.pad_token_id is None:
            raise IncompatibleError(f"task {task.name!r} has no pad token to delete with")
        pad = int(task.pad_token_id)

        def fill(rows: np.ndarray, removed: np.ndarray, index: np.ndarray) -> np.ndarray:
            gone = removed | (rows == pad)
            order = np.argsort(gone, axis=1, kind="stable")  # kept tokens first, in order
            out = np.take_along_axis(rows, order, axis=1)
            out[np.take_along_axis(gone, order, axis=1)] = pad
            return out

        return fill


class ImputeMasker(Masker):
    """ROAD-style in-distribution imputation (Rong et al., 2022).

    Tabular: the conditional mean of the removed features given the kept ones under a
    Gaussian fitted to the background. Images: the noisy-linear imputation of ROAD - each
    removed pixel is the weighted mean of its 8 neighbours (1/6 direct, 1/12 diagonal),
    solved by fixed-point iteration, plus Gaussian noise.

    Parameters
    ----------
    noise : float
        Standard deviation of the noise added to imputed pixels (images) or values.
    iterations : int
        Fixed-point iterations for the image neighbour system.
    ridge : float
        Added to the covariance diagonal (tabular) for a stable inverse.
    seed : int
    """

    name: ClassVar[str] = "impute"

    def __init__(
        self, noise: float = 0.01, iterations: int = 60, ridge: float = 1e-3, seed: int = 0
    ) -> None:
        self.noise = noise
        self.iterations = iterations
        self.ridge = ridge
        self.seed = seed

    def bind(self, task: Task, X: np.ndarray) -> Fill:
        if task.modality is Modality.TABULAR:
            return self._tabular(task, X)
        if task.modality is Modality.IMAGE:
            return self._image(task, X)
        raise IncompatibleError(f"ImputeMasker has no imputation for {task.modality.value}")

    def _tabular(self, task: Task, X: np.ndarray) -> Fill:
        ref = np.asarray(task.background if task.background is not None else task.X, float)
        ref = ref.reshape(len(ref), -1)
        mu = ref.mean(axis=0)
        cov = np.cov(ref, rowvar=False).reshape(len(mu), len(mu))
        prec = np.linalg.inv(cov + self.ridge * np.eye(len(mu)))
        eye = np.eye(len(mu))
        z = np.stack([rng.standard_normal(len(mu)) for rng in sample_rngs(X, self.seed)])

        def fill(rows: np.ndarray, removed: np.ndarray, index: np.ndarray) -> np.ndarray:
            # E[d_R | d_K] solves P_RR d_R = -P_RK d_K (d = x - mu); one batched solve
            d = np.where(removed, 0.0, rows - mu)
            both = removed[:, :, None] & removed[:, None, :]
            A = np.where(both, prec, eye)
            rhs = np.where(removed, -(d @ prec.T), 0.0)
            est = np.linalg.solve(A, rhs[..., None])[..., 0]
            noisy = est + self.noise * z[index]
            return np.where(removed, mu + noisy, rows)

        return fill

    def _image(self, task: Task, X: np.ndarray) -> Fill:
        shape = task.feature_shape
        if len(shape) != 3:
            raise IncompatibleError(f"image imputation needs (C, H, W) inputs, got {shape}")
        z = np.stack([rng.standard_normal(shape) for rng in sample_rngs(X, self.seed)])

        def fill(rows: np.ndarray, removed: np.ndarray, index: np.ndarray) -> np.ndarray:
            img = rows.reshape(len(rows), *shape).astype(np.float64)
            gone = removed.reshape(img.shape)
            cur = np.where(gone, 0.0, img)
            den = _neighbour_mean(np.ones_like(cur))  # weights inside the image
            for _ in range(self.iterations):
                cur = np.where(gone, _neighbour_mean(cur) / den, img)
            cur = np.where(gone, cur + self.noise * z[index], cur)
            return cur.reshape(len(rows), -1)

        return fill


def _neighbour_mean(img: np.ndarray) -> np.ndarray:
    """Sum of the 8 neighbours weighted 1/6 (direct) and 1/12 (diagonal); zero outside."""
    p = np.pad(img, ((0, 0), (0, 0), (1, 1), (1, 1)))
    H, W = img.shape[-2:]
    out = np.zeros_like(img)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == dx == 0:
                continue
            w = 1 / 12 if dy and dx else 1 / 6
            out += w * p[..., 1 + dy : 1 + dy + H, 1 + dx : 1 + dx + W]
    return out


MASKERS: dict[str, type[Masker]] = {
    "background": BackgroundMasker,
    "impute": ImputeMasker,
    "token": TokenMasker,
}


def resolve_masker(baseline: Any) -> Masker:
    """A masker from a ``baseline`` parameter: a Masker, a masker name, or a constant.

    Parameters
    ----------
    baseline : Masker, str, number or array
        ``"default"``, ``"mean"``, ``"min"``, ``"zero"``, ``"background"``,
        ``"impute"``, a constant, or a Masker.

    Returns
    -------
    Masker
    """
    if isinstance(baseline, Masker):
        return baseline
    if isinstance(baseline, str) and baseline in MASKERS:
        return MASKERS[baseline]()
    return ConstantMasker(baseline)


def describe(masker: Masker) -> str:
    """A short, stable text for the recorded parameters, e.g. ``constant(value='mean')``.

    Parameters
    ----------
    masker : Masker

    Returns
    -------
    str
    """
    args = ", ".join(f"{k}={_short(v)}" for k, v in masker.get_params().items())
    return f"{masker.name}({args})"


def _short(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"array{v.shape}"
    return repr(v)

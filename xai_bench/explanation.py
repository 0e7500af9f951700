"""Explanation: the one attribution result type every adapter returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .errors import InvalidInputError

__all__ = ["Explanation"]


@dataclass(frozen=True, eq=False)
class Explanation:
    """Attributions for a batch of samples, plus everything needed to reproduce them.

    Parameters
    ----------
    attributions : ndarray, shape (n_samples, *feature_shape)
        Float attributions, one per feature; for text, padded to a common
        length with ``mask`` marking the real tokens.
    targets : ndarray of int, shape (n_samples,)
        The output index (class or next token) that was explained; class names are
        accepted too, and resolved by the metric that scores them.
    explainer : str
        Registry id of the explainer, e.g. ``"captum.integrated_gradients"``.
    params : mapping
        The explainer's hyperparameters.
    seconds : float
        Wall time spent computing the attributions.
    meta : mapping
        Library and version, ``output_space``, ``seed``, ``model_calls``, warnings...
    mask : ndarray of bool, optional
        Same shape as ``attributions``; False marks padding that is not a feature.

    Raises
    ------
    InvalidInputError
        If the attributions have no sample axis, or the targets or mask do not match them.

    Examples
    --------
    >>> e = xb.Explanation(np.zeros((2, 3)), targets=np.array([0, 1]), explainer="demo")
    >>> e.attributions.shape, e.targets.tolist()
    ((2, 3), [0, 1])
    """

    attributions: np.ndarray
    targets: np.ndarray
    explainer: str
    params: Mapping[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    meta: Mapping[str, Any] = field(default_factory=dict)
    mask: np.ndarray | None = None

    def __post_init__(self) -> None:
        attr = np.asarray(self.attributions, dtype=np.float64)
        raw = np.asarray(self.targets).reshape(-1)
        # class names are kept as given: a metric resolves them with task.resolve_targets
        targets = raw if raw.dtype.kind in "US" else raw.astype(np.int64)
        if attr.ndim < 2:
            raise InvalidInputError(
                f"attributions of shape {attr.shape}",
                "an array of shape (n_samples, *feature_shape)",
                "Add a leading sample axis (attributions[None]) for a single sample.",
            )
        if targets.shape[0] != attr.shape[0]:
            raise InvalidInputError(
                f"{targets.shape[0]} targets for {attr.shape[0]} attribution rows",
                "one target per sample",
                "Pass targets with the same length as the explained batch.",
            )
        mask = None if self.mask is None else np.asarray(self.mask, dtype=bool)
        if mask is not None and mask.shape != attr.shape:
            raise InvalidInputError(
                f"mask of shape {mask.shape}",
                f"the attributions' shape {attr.shape}",
                "Give one mask entry per attribution.",
            )
        object.__setattr__(self, "attributions", attr)
        object.__setattr__(self, "targets", targets)
        object.__setattr__(self, "mask", mask)
        object.__setattr__(self, "params", dict(self.params))
        object.__setattr__(self, "meta", dict(self.meta))

    def __repr__(self) -> str:  # one line, never the arrays themselves
        from ._repr import head

        parts = [
            repr(self.explainer),
            f"{self.n_samples} samples x {self.feature_shape}",
            f"targets={head(self.targets.tolist())}",
            f"{self.seconds:.3g} s",
        ]
        if self.mask is not None:
            parts.append(f"{int(self.mask.sum())} of {self.mask.size} entries real (masked)")
        return f"Explanation({', '.join(parts)})"

    def _repr_html_(self, max_samples: int = 8, top: int = 10) -> str:
        """Per sample: the target and the ``top`` features by |attribution|, coloured by
        sign (red: for the target, blue: against), as the report's per-sample view."""
        from html import escape

        flat, mask = self.flat(), self.flat_mask()
        scale = float(np.abs(np.where(mask, flat, 0.0)).max()) or 1.0
        rows = []
        for i in range(min(self.n_samples, max_samples)):
            real = np.flatnonzero(mask[i])
            order = real[np.argsort(-np.abs(flat[i, real]), kind="stable")[:top]]
            cells = "".join(_feature_cell(self.feature_shape, j, flat[i, j], scale) for j in order)
            rows.append(f"<tr><td>{i}</td><td>{int(self.targets[i])}</td><td>{cells}</td></tr>")
        more = self.n_samples - max_samples
        caption = (
            f"{self.explainer}: {self.n_samples} sample(s) x {self.feature_shape},"
            f" {self.seconds:.3g} s" + (f"; first {max_samples} shown" if more > 0 else "")
        )
        params = ", ".join(f"{escape(str(k))}={escape(repr(v))}" for k, v in self.params.items())
        return (
            f"<table><caption>{escape(caption)}<br><small>{params}</small></caption>"
            f"<tr><th>sample</th><th>target</th><th>top {top} features by |attribution|</th></tr>"
            f"{''.join(rows)}</table>"
        )

    @property
    def n_samples(self) -> int:
        return int(self.attributions.shape[0])

    @property
    def feature_shape(self) -> tuple[int, ...]:
        return tuple(self.attributions.shape[1:])

    def flat(self) -> np.ndarray:
        """Attributions as (n_samples, n_features)."""
        return self.attributions.reshape(self.n_samples, -1)

    def flat_mask(self) -> np.ndarray:
        """Valid-feature mask as (n_samples, n_features); all True without padding."""
        if self.mask is None:
            return np.ones((self.n_samples, int(np.prod(self.feature_shape))), dtype=bool)
        return self.mask.reshape(self.n_samples, -1)

    def degenerate(self) -> np.ndarray:
        """Per sample: True where the attributions are all equal (no ranking information)."""
        a = self.flat()
        if self.mask is None:
            return ~(a.max(axis=1) > a.min(axis=1))
        m = self.flat_mask()
        hi = np.where(m, a, -np.inf).max(axis=1)
        lo = np.where(m, a, np.inf).min(axis=1)
        return ~(hi > lo)

    def subset(self, index: Any) -> Explanation:
        """The explanation of a subset of samples (slice or index array)."""
        return replace(
            self,
            attributions=self.attributions[index],
            targets=self.targets[index],
            mask=None if self.mask is None else self.mask[index],
        )

    @staticmethod
    def concat(parts: list[Explanation]) -> Explanation:
        """Join explanations of consecutive batches made by the same explainer."""
        if not parts:
            raise InvalidInputError("no explanations", "at least one", "Pass a non-empty list.")
        first = parts[0]
        masks = [p.flat_mask().reshape(p.attributions.shape) for p in parts]
        return replace(
            first,
            attributions=np.concatenate([p.attributions for p in parts]),
            targets=np.concatenate([p.targets for p in parts]),
            seconds=float(sum(p.seconds for p in parts)),
            mask=None if all(p.mask is None for p in parts) else np.concatenate(masks),
        )


def _feature_cell(shape: tuple[int, ...], j: int, value: float, scale: float) -> str:
    """One feature as a coloured chip: its index (per axis) and its attribution."""
    index = np.unravel_index(j, shape)
    name = str(int(index[0])) if len(index) == 1 else str(tuple(int(k) for k in index))
    alpha = min(1.0, abs(value) / scale)
    rgb = "214,39,40" if value > 0 else "31,119,180"
    return (
        f'<span style="background:rgba({rgb},{alpha:.2f});padding:0 4px;margin:1px;'
        f'display:inline-block" title="{value:.4g}">{name}: {value:.3g}</span>'
    )

"""SHAP adapters: kernel, permutation, exact, tree, linear, partition, deep and gradient.

SHAP's output shape and space differ by explainer (``(n,f)``, ``(n,f,k)``,
``(n,f,1)``; probability or log-odds). Every adapter here returns the target
column as ``(n, *feature_shape)`` and records the space it explains.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np

from .._deps import require
from ..errors import InvalidInputError
from ..explainer import BaseExplainer, Capabilities
from ..task import CountingScorer, Modality, Task
from ._background import summarize, task_background

TABULAR = frozenset({Modality.TABULAR})


def _shap() -> Any:
    return require("shap", "shap")


@contextlib.contextmanager
def seeded_global_numpy(seed: int) -> Iterator[None]:
    """Seed numpy's global RNG (which SHAP samples from) and restore it afterwards."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def select_target(values: Any, targets: np.ndarray, feature_shape: tuple[int, ...]) -> np.ndarray:
    """SHAP values of any layout -> ``(n, *feature_shape)`` for each row's target output.

    Accepts ``(n, *fs)`` (single output), ``(n, *fs, k)`` and a list of k ``(n, *fs)``.
    """
    if isinstance(values, list):
        values = np.stack([np.asarray(v) for v in values], axis=-1)
    v = np.asarray(values, dtype=np.float64)
    n = len(targets)
    if v.shape == (n, *feature_shape):
        return v
    if v.shape[:-1] == (n, *feature_shape):
        if v.shape[-1] == 1:
            return v[..., 0]
        return np.moveaxis(v, -1, 1)[np.arange(n), targets]
    raise InvalidInputError(
        f"SHAP returned values of shape {v.shape}",
        f"(n, *feature_shape) or (n, *feature_shape, n_outputs) with n={n}, feature_shape={feature_shape}",
        "This SHAP version returns an unexpected layout; please report it.",
    )


def _expected(explainer: Any, targets: np.ndarray) -> list[float]:
    base = np.asarray(explainer.expected_value, dtype=np.float64).reshape(-1)
    return (base[targets] if base.size > 1 else np.repeat(base, len(targets))).tolist()


class KernelShap(BaseExplainer):
    """KernelSHAP on the task's probability scorer (model-agnostic).

    Parameters
    ----------
    n_samples : int or None
        Coalitions per sample; None uses SHAP's ``2 * n_features + 2048`` (capped at
        full enumeration, where KernelSHAP is exact).
    max_background : int
        Background rows kept; more are summarised by ``background_summary``.
    background_summary : {"kmeans", "sample"}
        Weighted k-means centroids (SHAP's advice) or a seeded subsample.
    l1_reg : str, float or False
        SHAP's feature selection; False (default) keeps plain KernelSHAP.
    max_memory_mb : float
        Budget for KernelSHAP's synthetic data; the background is cut to fit.
    seed : int
        Seeds the coalition sampling of every row (same row, same seed, same result).
    """

    name: ClassVar[str] = "shap.kernel"
    library: ClassVar[str] = "shap"
    capabilities: ClassVar[Capabilities] = Capabilities(modalities=TABULAR, stochastic=True)

    def __init__(
        self,
        n_samples: int | None = None,
        max_background: int = 50,
        background_summary: str = "kmeans",
        l1_reg: Any = False,
        max_memory_mb: float = 512.0,
        seed: int = 0,
    ) -> None:
        self.n_samples = n_samples
        self.max_background = max_background
        self.background_summary = background_summary
        self.l1_reg = l1_reg
        self.max_memory_mb = max_memory_mb
        self.seed = seed

    def coalitions(self, n_features: int) -> int:
        """Coalitions KernelSHAP will evaluate per sample (as SHAP resolves them)."""
        n = self.n_samples if self.n_samples is not None else 2 * n_features + 2048
        if n_features <= 30:
            n = min(n, 2**n_features - 2)
        return max(int(n), 1)

    def _attribute(
        self, task: Task, X: np.ndarray, targets: np.ndarray, scorer: CountingScorer
    ) -> tuple[np.ndarray, dict[str, Any]]:
        shap = _shap()
        from shap.utils._legacy import DenseData

        n_features = X.shape[1]
        n_coal = self.coalitions(n_features)
        # KernelSHAP materialises coalitions x background rows x features float64
        bg = summarize(
            task_background(task),
            self.max_background,
            self.background_summary,
            self.seed,
            bytes_per_row=8.0 * n_coal * (n_features + task.n_outputs),
            max_memory_mb=self.max_memory_mb,
        )
        names = list(task.feature_names or [f"x{j}" for j in range(n_features)])
        data = DenseData(bg.data, names, None, bg.weights * len(bg.weights))
        explainer = shap.KernelExplainer(scorer, data)
        rows = []
        for x in X:  # reseed per row: results do not depend on batch composition
            with seeded_global_numpy(self.seed):
                rows.append(
                    explainer.shap_values(x[None], nsamples=n_coal, l1_reg=self.l1_reg, silent=True)
                )
        attr = select_target(np.concatenate(rows), targets, (n_features,))
        meta = {**bg.info, "n_coalitions": n_coal, "base_values": _expected(explainer, targets)}
        return attr, meta

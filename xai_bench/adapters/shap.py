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
from .._params import Spec, count
from .._upstream import Upstream
from ..errors import IncompatibleError, InvalidInputError
from ..explainer import BaseExplainer, Capabilities, Requirement
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


class _ValidatedOnce:
    """The task's scorer, fully validated (labels, logits, NaN) on its first batch only.

    KernelSHAP sends tens of thousands of rows per sample from the same model; checking
    each of those batches cost about 5% of the run. Calls are still counted, and a
    non-finite output still fails the final finiteness check of the attributions.
    """

    def __init__(self, task: Task, scorer: CountingScorer) -> None:
        self.task, self.scorer, self.checked = task, scorer, False

    def __call__(self, batch: Any) -> np.ndarray:
        if not self.checked or self.task.output_kind != "classification":
            self.checked = True  # a logit or prediction is mapped (and checked) by the task
            return self.scorer(batch)
        self.scorer.calls += 1
        self.scorer.rows += len(batch)
        return np.asarray(self.task.predict_proba(batch), dtype=np.float64)


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
    upstream_defaults: ClassVar[dict[str, Any]] = {
        "n_samples": "auto: 2F + 2048 (in shap_values' code)",
        "max_background": "the background you pass",
        "l1_reg": '"num_features(10)" (in shap_values\' code)',
    }
    library: ClassVar[str] = "shap"
    capabilities: ClassVar[Capabilities] = Capabilities(modalities=TABULAR, stochastic=True)
    param_specs: ClassVar[dict[str, Spec]] = {"l1_reg": Spec("any")}  # SHAP checks its options

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
        explainer = shap.KernelExplainer(_ValidatedOnce(task, scorer), data)
        rows = []
        for x in X:  # reseed per row: results do not depend on batch composition
            with seeded_global_numpy(self.seed):
                rows.append(
                    explainer.shap_values(x[None], nsamples=n_coal, l1_reg=self.l1_reg, silent=True)
                )
        attr = select_target(np.concatenate(rows), targets, (n_features,))
        meta = {**bg.info, "n_coalitions": n_coal, "base_values": _expected(explainer, targets)}
        return attr, meta


def _sampled_background(task: Task, max_background: int, seed: int) -> Any:
    """A seeded subsample of the task's background (``.data`` and ``.info``)."""
    return summarize(task_background(task), max_background, "sample", seed)


def _masker(task: Task, max_background: int, seed: int) -> tuple[Any, dict[str, Any]]:
    """An Independent masker over a seeded subsample of the task's background."""
    bg = _sampled_background(task, max_background, seed)
    return _shap().maskers.Independent(bg.data, max_samples=len(bg.data)), bg.info


class _MaskerShap(BaseExplainer):
    """Shared body of the model-agnostic explainers that take a masker (Permutation, Exact)."""

    capabilities: ClassVar[Capabilities] = Capabilities(modalities=TABULAR)
    shap_class: ClassVar[str]
    max_background: int = 100
    seed: int = 0

    def _evals(self, n_features: int) -> Any:
        raise NotImplementedError

    def _attribute(
        self, task: Task, X: np.ndarray, targets: np.ndarray, scorer: CountingScorer
    ) -> tuple[np.ndarray, dict[str, Any]]:
        shap = _shap()
        max_evals = self._evals(X.shape[1])
        masker, info = _masker(task, self.max_background, self.seed)
        with seeded_global_numpy(self.seed):  # Permutation reseeds the global RNG when built
            explainer = getattr(shap, self.shap_class)(scorer, masker)
        values, base = [], []
        for x in X:  # reseed per row: results do not depend on batch composition
            with seeded_global_numpy(self.seed):
                out = explainer(x[None], max_evals=max_evals, silent=True)
            values.append(out.values)
            base.append(np.asarray(out.base_values).reshape(-1))
        attr = select_target(np.concatenate(values), targets, X.shape[1:])
        base_arr = np.stack(base)
        picked = base_arr[:, 0] if base_arr.shape[1] == 1 else base_arr[np.arange(len(X)), targets]
        return attr, {**info, "base_values": picked.tolist()}


class PermutationShap(_MaskerShap):
    """SHAP's permutation explainer (antithetic permutations) on the probability scorer.

    Parameters
    ----------
    max_evals : int or "auto"
        Model evaluations per sample (at least ``2 * n_features + 1``); "auto" is SHAP's
        ``20 * n_features``.
    max_background : int
        Background rows (a seeded subsample beyond that).
    seed : int
    """

    name: ClassVar[str] = "shap.permutation"
    upstream_defaults: ClassVar[dict[str, Any]] = {
        "max_evals": Upstream("shap:PermutationExplainer.__call__", "max_evals")
    }
    library: ClassVar[str] = "shap"
    shap_class: ClassVar[str] = "PermutationExplainer"
    param_specs: ClassVar[dict[str, Spec]] = {"max_evals": count(choices=("auto",))}
    capabilities: ClassVar[Capabilities] = Capabilities(modalities=TABULAR, stochastic=True)

    def __init__(self, max_evals: Any = "auto", max_background: int = 100, seed: int = 0) -> None:
        self.max_evals = max_evals
        self.max_background = max_background
        self.seed = seed

    def _evals(self, n_features: int) -> Any:
        return self.max_evals


class ExactShap(_MaskerShap):
    """Exact Shapley values by enumerating all ``2**n_features`` coalitions.

    Parameters
    ----------
    max_features : int
        Tasks with more features are skipped (the cost doubles per feature).
    max_background : int
    seed : int
        Only picks the background subsample.
    """

    name: ClassVar[str] = "shap.exact"
    upstream_defaults: ClassVar[dict[str, Any]] = {
        "max_features": "none (max_evals=100000 coalitions)"
    }
    library: ClassVar[str] = "shap"
    shap_class: ClassVar[str] = "ExactExplainer"

    def __init__(self, max_features: int = 16, max_background: int = 100, seed: int = 0) -> None:
        self.max_features = max_features
        self.max_background = max_background
        self.seed = seed

    def _evals(self, n_features: int) -> Any:
        if n_features > self.max_features:
            raise IncompatibleError(
                f"{self.name} enumerates 2^{n_features} coalitions; the task has more than "
                f"max_features={self.max_features} features (use shap.permutation or shap.kernel)"
            )
        return 2**n_features + 1


def _binary_flip(
    values: np.ndarray, base: np.ndarray, targets: np.ndarray, space: str, n_outputs: int
) -> tuple[np.ndarray, np.ndarray]:
    """One output explained for a two-class model is class 1: class 0 is its negation."""
    if n_outputs != 2:
        raise IncompatibleError(
            f"SHAP explained one output but the model has {n_outputs} classes; cannot pick a target"
        )
    sign = np.where(targets == 1, 1.0, -1.0)
    flipped = base * sign + (np.where(targets == 1, 0.0, 1.0) if space == "probability" else 0.0)
    return values * sign.reshape(-1, *[1] * (values.ndim - 1)), flipped


def _pick(
    values: Any, base: Any, targets: np.ndarray, task: Task, space: str, fshape: tuple[int, ...]
) -> tuple[np.ndarray, list[float]]:
    """Target column of SHAP values and base values, for single- or multi-output results."""
    if isinstance(values, list):
        values = np.stack([np.asarray(v) for v in values], axis=-1)
    v = np.asarray(values, dtype=np.float64)
    if v.shape == (len(targets), *fshape, 1):  # one model output (a logit, a regression)
        v = v[..., 0]
    b = np.asarray(base, dtype=np.float64).reshape(-1)
    if v.shape == (len(targets), *fshape) and task.n_outputs > 1:
        attr, b = _binary_flip(v, np.resize(b, len(targets)), targets, space, task.n_outputs)
        return attr, b.tolist()
    attr = select_target(v, targets, fshape)
    return attr, (b[targets] if b.size > 1 else np.resize(b, len(targets))).tolist()


def _explain_values(
    explainer: Any, task: Task, X: np.ndarray, targets: np.ndarray, space: str, info: dict
) -> tuple[np.ndarray, dict[str, Any]]:
    """Attributions and meta from a Tree or Linear explainer's ``shap_values``."""
    values = explainer.shap_values(X)
    attr, base = _pick(values, explainer.expected_value, targets, task, space, X.shape[1:])
    return attr, {**info, "output_space": space, "base_values": base}


class TreeShap(BaseExplainer):
    """TreeSHAP for scikit-learn tree ensembles (exact, polynomial time).

    Parameters
    ----------
    model_output : {"raw", "probability"}
        "raw" explains the trees' own output (log-odds for gradient boosting,
        probability for forests); "probability" needs interventional perturbation.
    feature_perturbation : {"interventional", "tree_path_dependent"}
    max_background : int
        Background rows for interventional TreeSHAP (seeded subsample).
    seed : int
    """

    name: ClassVar[str] = "shap.tree"
    upstream_defaults: ClassVar[dict[str, Any]] = {
        "model_output": Upstream("shap:TreeExplainer.__init__", "model_output"),
        "feature_perturbation": Upstream("shap:TreeExplainer.__init__", "feature_perturbation"),
    }
    library: ClassVar[str] = "shap"
    capabilities: ClassVar[Capabilities] = Capabilities(
        modalities=TABULAR, requires=frozenset({Requirement.SKLEARN_MODEL}), output_space="model"
    )

    def __init__(
        self,
        model_output: str = "raw",
        feature_perturbation: str = "interventional",
        max_background: int = 100,
        seed: int = 0,
    ) -> None:
        self.model_output = model_output
        self.feature_perturbation = feature_perturbation
        self.max_background = max_background
        self.seed = seed

    def _attribute(
        self, task: Task, X: np.ndarray, targets: np.ndarray, scorer: CountingScorer
    ) -> tuple[np.ndarray, dict[str, Any]]:
        shap = _shap()
        from shap.utils._exceptions import InvalidModelError

        info: dict[str, Any] = {}
        data = None
        if self.feature_perturbation == "interventional":
            bg = _sampled_background(task, self.max_background, self.seed)
            data, info = bg.data, bg.info
        try:
            explainer = shap.TreeExplainer(
                task.model,
                data=data,
                model_output=self.model_output,
                feature_perturbation=self.feature_perturbation,
            )
        except InvalidModelError as exc:
            raise IncompatibleError(f"{self.name} needs a tree ensemble: {exc}") from exc
        space = self.model_output if self.model_output != "raw" else explainer.model.tree_output
        space = {"log_odds": "log_odds", "probability": "probability"}.get(space, str(space))
        space = task.explained_space("model") if task.is_regression else space
        return _explain_values(explainer, task, X, targets, space, info)


def linear_coefficients(model: Any) -> tuple[np.ndarray, np.ndarray, str] | None:
    """(coef (k, f), intercept (k,), space) of a sklearn linear model or a torch Linear.

    A two-logit torch layer becomes one log-odds row ``w1 - w0``; one row is the log-odds
    of a binary classifier or a regressor's prediction (``Task.explained_space`` says
    which); None for other models.
    """
    if hasattr(model, "coef_") and hasattr(model, "intercept_"):
        coef = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))
        space = "log_odds" if coef.shape[0] == 1 else "logit"
        return coef, np.asarray(model.intercept_, dtype=np.float64).reshape(-1), space
    if type(model).__name__ == "Linear" and type(model).__module__.startswith("torch.nn"):
        w = model.weight.detach().cpu().double().numpy()
        b = (
            model.bias.detach().cpu().double().numpy()
            if model.bias is not None
            else np.zeros(len(w))
        )
        if len(w) == 2:
            return (w[1] - w[0])[None], np.array([b[1] - b[0]]), "log_odds"
        return w, b, "logit"
    return None


class LinearShap(BaseExplainer):
    """Interventional linear SHAP, ``phi = w * (x - E[x])``, on the model's log-odds
    (a regressor's prediction).

    Works for scikit-learn linear classifiers and regressors (``coef_``) and a torch
    ``nn.Linear``.

    Parameters
    ----------
    max_background : int
        Background rows whose mean is ``E[x]`` (seeded subsample beyond that).
    seed : int
    """

    name: ClassVar[str] = "shap.linear"
    upstream_defaults: ClassVar[dict[str, Any]] = {"max_background": "100 (its default masker)"}
    library: ClassVar[str] = "shap"
    capabilities: ClassVar[Capabilities] = Capabilities(modalities=TABULAR, output_space="log_odds")

    def __init__(self, max_background: int = 1000, seed: int = 0) -> None:
        self.max_background = max_background
        self.seed = seed

    def _attribute(
        self, task: Task, X: np.ndarray, targets: np.ndarray, scorer: CountingScorer
    ) -> tuple[np.ndarray, dict[str, Any]]:
        shap = _shap()
        found = linear_coefficients(task.model)
        if found is None:
            raise IncompatibleError(
                f"{self.name} needs a linear model (sklearn coef_ or torch nn.Linear), "
                f"not {type(task.model).__name__}"
            )
        coef, intercept, space = found
        masker, info = _masker(task, self.max_background, self.seed)
        model = (coef[0], intercept[0]) if len(coef) == 1 else (coef, intercept)
        explainer = shap.LinearExplainer(model, masker)
        return _explain_values(explainer, task, X, targets, space, info)


@contextlib.contextmanager
def _eval_mode(module: Any) -> Iterator[None]:
    """Run in eval mode (deterministic) and restore the caller's mode afterwards."""
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)


def _as_model_tensor(module: Any, arr: np.ndarray) -> Any:
    import torch

    param = next(module.parameters())
    return torch.as_tensor(np.asarray(arr)).to(device=param.device, dtype=param.dtype)


class _TorchShap(BaseExplainer):
    """Shared body of SHAP's torch explainers (Deep, Gradient): logits of the target class."""

    library: ClassVar[str] = "shap"
    max_background: int = 50
    seed: int = 0

    def _attribute(
        self, task: Task, X: np.ndarray, targets: np.ndarray, scorer: CountingScorer
    ) -> tuple[np.ndarray, dict[str, Any]]:
        import torch

        ref = task.X if task.background is None else task.background
        bg = summarize(np.asarray(ref, dtype=np.float64), self.max_background, "sample", self.seed)
        module = task.model
        with _eval_mode(module), torch.random.fork_rng():
            torch.manual_seed(self.seed)
            background = _as_model_tensor(module, bg.data)
            inputs = _as_model_tensor(module, X)
            values, base = self._shap_values(module, background, inputs)
        attr, base_values = _pick(values, base, targets, task, "logit", X.shape[1:])
        return attr, {**bg.info, "base_values": base_values}

    def _shap_values(self, module: Any, background: Any, inputs: Any) -> tuple[Any, Any]:
        raise NotImplementedError


class DeepShap(_TorchShap):
    """DeepSHAP (DeepLIFT with a background distribution) for torch models; explains logits.

    Parameters
    ----------
    max_background : int
        Background rows (seeded subsample); cost grows linearly with it.
    check_additivity : bool
        SHAP's own check that attributions sum to f(x) - E f(background).
    seed : int
        Only picks the background subsample.
    """

    name: ClassVar[str] = "shap.deep"
    upstream_defaults: ClassVar[dict[str, Any]] = {
        "max_background": "the background you pass",
        "check_additivity": Upstream("shap:DeepExplainer.shap_values", "check_additivity"),
    }
    capabilities: ClassVar[Capabilities] = Capabilities(
        modalities=frozenset({Modality.TABULAR, Modality.IMAGE}),
        requires=frozenset({Requirement.TORCH_MODEL}),
        output_space="logit",
    )

    def __init__(
        self, max_background: int = 50, check_additivity: bool = True, seed: int = 0
    ) -> None:
        self.max_background = max_background
        self.check_additivity = check_additivity
        self.seed = seed

    def _shap_values(self, module: Any, background: Any, inputs: Any) -> tuple[Any, Any]:
        explainer = _shap().DeepExplainer(module, background)
        values = explainer.shap_values(inputs, check_additivity=self.check_additivity)
        return values, explainer.expected_value


class GradientShap(_TorchShap):
    """SHAP's GradientExplainer (expected gradients) for torch models; explains logits.

    Parameters
    ----------
    n_samples : int
        Background/interpolation samples per input.
    max_background : int
    seed : int
    """

    name: ClassVar[str] = "shap.gradient"
    upstream_defaults: ClassVar[dict[str, Any]] = {
        "n_samples": Upstream("shap:GradientExplainer.shap_values", "nsamples"),
        "max_background": "the background you pass",
    }
    capabilities: ClassVar[Capabilities] = Capabilities(
        modalities=frozenset({Modality.TABULAR, Modality.IMAGE}),
        requires=frozenset({Requirement.TORCH_MODEL}),
        stochastic=True,
        output_space="logit",
    )

    def __init__(self, n_samples: int = 200, max_background: int = 50, seed: int = 0) -> None:
        self.n_samples = n_samples
        self.max_background = max_background
        self.seed = seed

    def _shap_values(self, module: Any, background: Any, inputs: Any) -> tuple[Any, Any]:
        import torch

        explainer = _shap().GradientExplainer(module, background)
        # one call per row, each seeded: SHAP draws references for a whole batch from one seed
        values = np.concatenate(
            [
                np.asarray(explainer.shap_values(x[None], nsamples=self.n_samples, rseed=self.seed))
                for x in inputs
            ]
        )
        with torch.no_grad():
            base = module(background).double().mean(0).cpu().numpy()
        return values, base


class PartitionShap(BaseExplainer):
    """SHAP's Partition explainer (Owen values) on text, masking model tokens with the mask token.

    Rows are decoded to text and SHAP's text masker re-tokenizes them with the task's
    own tokenizer, so each SHAP feature is one model token (checked per row). Special
    tokens ([CLS]/[SEP], BOS/EOS) stay in place and are not features.

    Parameters
    ----------
    max_evals : int
        Model evaluations per sample.
    """

    name: ClassVar[str] = "shap.partition"
    upstream_defaults: ClassVar[dict[str, Any]] = {
        "max_evals": Upstream("shap:PartitionExplainer.__call__", "max_evals")
    }
    library: ClassVar[str] = "shap"
    capabilities: ClassVar[Capabilities] = Capabilities(
        modalities=frozenset({Modality.TEXT}),
        requires=frozenset({Requirement.TOKENIZER, Requirement.CLASSIFIER}),
    )

    def __init__(self, max_evals: int = 500) -> None:
        self.max_evals = max_evals

    def _attribute(
        self, task: Task, X: np.ndarray, targets: np.ndarray, scorer: CountingScorer
    ) -> tuple[np.ndarray, dict[str, Any]]:
        shap = _shap()
        from ._text import alignment_meta, content_tokenizer, row_texts, text_scorer

        rows = row_texts(task, X)
        tok = task.tokenizer
        # SHAP splits the row's text without special tokens; the scorer puts them back
        masker = shap.maskers.Text(
            content_tokenizer(tok), mask_token=tok.mask_token, collapse_mask_token=False
        )
        attr, base = np.zeros(X.shape), []
        for i, (row, t) in enumerate(zip(rows, targets, strict=True)):
            if len(row.positions) == 1:  # one player: its value is f(x) - f(masked), exactly
                pair = np.stack([X[i], X[i]])
                pair[1, row.positions[0]] = tok.mask_token_id
                p = scorer(pair)[:, t]
                attr[i, row.positions[0]] = p[0] - p[1]
                base.append(float(p[1]))
                continue
            explainer = shap.PartitionExplainer(text_scorer(task, scorer, X.shape[1], row), masker)
            out = explainer([row.text], max_evals=self.max_evals, silent=True)
            values = np.asarray(out.values[0], dtype=np.float64)
            if len(values) != len(row.positions):
                raise IncompatibleError(
                    f"{self.name}: SHAP's text masker split row {i} into {len(values)} tokens, "
                    f"the model has {len(row.positions)}"
                )
            attr[i, row.positions] = values[:, t] if values.ndim == 2 else values
            base.append(float(np.asarray(out.base_values[0]).reshape(-1)[t]))
        meta = {**alignment_meta(rows), "removal": f"token -> {tok.mask_token}"}
        return attr, {**meta, "base_values": base}

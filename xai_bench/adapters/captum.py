"""Captum adapters: one declarative table of methods, one adapter class built from it.

Each row of ``METHODS`` names a ``captum.attr`` class, its hyperparameters, the
modalities it serves and how it is fed (baselines, model or function). Gradient
methods run on the task's torch module, wrapped so that the attributions explain the
target's *probability* (``space="probability"``, what the metrics score) or its raw
logit (``space="logit"``). On text they run on the embedding layer (Captum's ``Layer*``
variant; ``task.meta["embedding_layer"]`` names it) and the embedding dimension is
summed. Perturbation methods need only the task's scorer, so they also explain
scikit-learn and other black-box models.

The model runs in eval mode, inputs are cast to its dtype and device, and every
submodule's previous train/eval mode is restored afterwards.
"""

from __future__ import annotations

import contextlib
import operator
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .._deps import require
from .._params import Spec, choice
from .._torch import eval_mode, model_dtype_device, seeded
from .._upstream import Upstream
from ..errors import IncompatibleError, InvalidInputError
from ..explainer import Capabilities, Requirement
from ..task import INPUT_MODALITIES, CountingScorer, Modality, Task
from ._table import TableExplainer, build_adapter

__all__ = ["METHODS", "CaptumExplainer"]

TAB, IMG, TXT = Modality.TABULAR, Modality.IMAGE, Modality.TEXT
# perturbation methods need only the scorer and a removal value: every modality
BLACK_BOX = INPUT_MODALITIES
# Captum messages about what it does on purpose here, not about the result
_EXPECTED_WARNINGS = (
    "did not already require gradients",
    "Setting forward, backward hooks",
    "providing multiple inputs for Lime / Kernel SHAP",
    "Setting backward hooks on ReLU",
)


@dataclass(frozen=True)
class MethodSpec:
    """One Captum method as data.

    Parameters
    ----------
    cls : str
        Class name in ``captum.attr``.
    params : mapping
        Hyperparameters and defaults (besides the common ones added by ``CaptumExplainer``).
    modalities : frozenset of Modality
    layer_cls : str, optional
        The ``Layer*`` variant used on text, through the embedding layer.
    baselines : {"none", "point", "distribution"}
        No baseline, one reference input per sample, or a sample of background rows.
    gradient : bool
        Needs a differentiable torch model (else it runs on the black-box scorer).
    stochastic, delta : bool
        Seeded sampling; returns a convergence delta.
    softmax_rule : bool
        DeepLift family: Captum's softmax rule mixes the rows of a batch, so explaining
        probabilities runs one row at a time.
    batch_rng : bool
        Captum draws the method's random numbers for the whole batch from one generator,
        so a row's draws would depend on the rows before it: it runs one row at a time,
        each from the same seed.
    params may include ``patch`` (images: square pixel blocks that count as one feature,
    the usual stand-in for superpixels on small images; None = every pixel).
    init : callable, optional
        ``params -> dict`` of keyword arguments for the method's constructor.
    kwargs : callable, optional
        ``(params, X) -> dict`` mapping hyperparameters to ``attribute`` keyword arguments;
        by default every hyperparameter is passed through under its own name.
    """

    cls: str
    params: Mapping[str, Any]
    modalities: frozenset[Modality]
    summary: str
    layer_cls: str | None = None
    baselines: str = "none"
    gradient: bool = True
    stochastic: bool = False
    delta: bool = False
    softmax_rule: bool = False
    batch_rng: bool = False
    init: Callable[[dict[str, Any]], dict[str, Any]] | None = field(default=None, repr=False)
    kwargs: Callable[[dict[str, Any], np.ndarray], dict[str, Any]] | None = field(
        default=None, repr=False
    )


def _occlusion_kwargs(p: dict[str, Any], X: np.ndarray) -> dict[str, Any]:
    lead = X.shape[1:-2]  # channels: occlude all of them at once
    return {
        "sliding_window_shapes": (*lead, p["window"], p["window"]),
        "strides": (*lead, p["stride"], p["stride"]),
        "perturbations_per_eval": p["perturbations_per_eval"],
    }


_PERTURB = {"perturbations_per_eval": 64}
# hyperparameters xai-bench interprets itself (not passed to Captum's attribute)
_OWN_PARAMS = ("n_background", "patch", "surrogate")


def _lime_init(p: dict[str, Any]) -> dict[str, Any]:
    """Captum's Lime surrogate: least squares by default. Captum's own default,
    Lasso(alpha=0.01) on the target probability, zeroes features whose effect is below
    alpha: on a sparse MLP it ranked the true features first in 12% of the samples,
    least squares in 100% (tests/adapters/test_fair_defaults.py)."""
    from captum._utils.models.linear_model import SkLearnLasso, SkLearnLinearRegression

    model = SkLearnLasso(alpha=0.01) if p["surrogate"] == "lasso" else SkLearnLinearRegression()
    return {"interpretable_model": model}


METHODS: dict[str, MethodSpec] = {
    "integrated_gradients": MethodSpec(
        "IntegratedGradients",
        {"n_steps": 64, "method": "gausslegendre"},
        frozenset({TAB, IMG, TXT}),
        "Path integral of gradients from a baseline.",
        layer_cls="LayerIntegratedGradients",
        baselines="point",
        delta=True,
    ),
    "layer_integrated_gradients": MethodSpec(
        "LayerIntegratedGradients",
        {"n_steps": 64, "method": "gausslegendre"},
        frozenset({TXT}),
        "Integrated gradients on the embedding layer, summed per token.",
        layer_cls="LayerIntegratedGradients",
        baselines="point",
        delta=True,
    ),
    "saliency": MethodSpec(
        "Saliency",
        {"abs": True},
        frozenset({TAB, IMG}),
        "Gradient (magnitude) at the input.",
    ),
    "input_x_gradient": MethodSpec(
        "InputXGradient",
        {},
        frozenset({TAB, IMG, TXT}),
        "Input times gradient.",
        layer_cls="LayerGradientXActivation",
    ),
    "deeplift": MethodSpec(
        "DeepLift",
        {},
        frozenset({TAB, IMG, TXT}),
        "DeepLIFT rescale rule against a baseline.",
        layer_cls="LayerDeepLift",
        baselines="point",
        delta=True,
        softmax_rule=True,
    ),
    "deeplift_shap": MethodSpec(
        "DeepLiftShap",
        {"n_background": 16},
        frozenset({TAB, IMG}),
        "DeepLIFT averaged over background rows (SHAP values of a deep model).",
        baselines="distribution",
        delta=True,
        softmax_rule=True,
        stochastic=True,
        kwargs=lambda p, X: {},
    ),
    "gradient_shap": MethodSpec(
        "GradientShap",
        {"n_samples": 32, "stdevs": 0.0, "n_background": 16},
        frozenset({TAB, IMG}),
        "Expected gradients over random background rows.",
        baselines="distribution",
        stochastic=True,
        batch_rng=True,
        delta=True,
        kwargs=lambda p, X: {"n_samples": p["n_samples"], "stdevs": p["stdevs"]},
    ),
    "guided_backprop": MethodSpec(
        "GuidedBackprop",
        {},
        frozenset({TAB, IMG}),
        "Gradients with negative ReLU signals removed.",
    ),
    "occlusion": MethodSpec(
        "Occlusion",
        {"window": 2, "stride": 1, **_PERTURB},
        frozenset({IMG}),
        "Drop in output when a sliding patch is replaced by the baseline.",
        baselines="point",
        gradient=False,
        kwargs=_occlusion_kwargs,
    ),
    "feature_ablation": MethodSpec(
        "FeatureAblation",
        {**_PERTURB, "patch": None},
        BLACK_BOX,
        "Drop in output when one feature is replaced by the baseline.",
        baselines="point",
        gradient=False,
    ),
    "shapley_value_sampling": MethodSpec(
        "ShapleyValueSampling",
        {"n_samples": 25, **_PERTURB, "patch": None},
        BLACK_BOX,
        "Shapley values estimated from random feature permutations.",
        baselines="point",
        gradient=False,
        stochastic=True,
    ),
    "kernel_shap": MethodSpec(
        "KernelShap",
        {"n_samples": 256, **_PERTURB, "patch": None},
        BLACK_BOX,
        "Kernel SHAP: weighted linear regression on feature coalitions.",
        baselines="point",
        gradient=False,
        stochastic=True,
        batch_rng=True,
    ),
    "lime": MethodSpec(
        "Lime",
        {"n_samples": 256, "surrogate": "linear", **_PERTURB, "patch": None},
        BLACK_BOX,
        "LIME: local linear surrogate on random feature subsets.",
        baselines="point",
        gradient=False,
        stochastic=True,
        batch_rng=True,
        init=_lime_init,
    ),
}


def _forward_module(task: Task, space: str) -> Any:
    """The task's module with its output mapped to the explained space.

    A regressor's one output is explained as is (whatever ``space``). A single logit z
    becomes two class logits: ``[-z/2, z/2]`` before the softmax (so the probabilities are
    ``[sigmoid(-z), sigmoid(z)]``), ``[-z, z]`` in logit space (each target's log-odds).
    """
    import torch
    from torch import nn

    module = task.model
    returns_probs = _returns_probabilities(task)
    if space == "logit" and returns_probs:
        raise InvalidInputError(
            f"space='logit' but the model of task {task.name!r} returns probabilities",
            "a model that returns logits",
            "Use space='probability'.",
        )

    class Explained(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = module
            # a module (not F.softmax) so DeepLift can apply its rule to it
            self.softmax = nn.Softmax(dim=-1)

            self.calls, self.rows = 0, 0
            self.applies_softmax = (
                space == "probability" and not returns_probs and not task.is_regression
            )
            self.one_logit = task.output_kind == "binary_logit"
            self.one_output = self.one_logit or task.is_regression

        def forward(self, x: Any) -> Any:
            self.calls, self.rows = self.calls + 1, self.rows + len(x)
            out = self.model(
                x.round().long() if task.modality is TXT and x.is_floating_point() else x
            )
            out = getattr(out, "logits", out)  # Hugging Face model outputs
            if self.one_output:  # (n,) or (n, 1): Captum's target 0 needs a column
                out = out.reshape(len(out), 1)
            if self.one_logit:
                out = torch.cat([-out, out], 1) / (2 if self.applies_softmax else 1)
            return self.softmax(out) if self.applies_softmax else out

    return Explained()


def _returns_probabilities(task: Task) -> bool:
    if task.output_kind != "classification":  # a logit or a regression value
        return False
    declared = task.meta.get("model_output")
    if declared is not None:
        return declared == "probabilities"
    import torch

    dtype, device = model_dtype_device(task.model)
    x = torch.as_tensor(np.asarray(task.X[:4]))
    x = x.to(device=device, dtype=dtype if x.is_floating_point() else None)
    with eval_mode(task.model), torch.no_grad():
        out = task.model(x)
    out = getattr(out, "logits", out).double()
    return bool(out.min() >= 0 and out.max() <= 1 and torch.allclose(out.sum(-1), out.new_ones(1)))


def _embedding_layer(task: Task) -> Any:
    path = task.meta.get("embedding_layer")
    if path is None:
        get = getattr(task.model, "get_input_embeddings", None)
        layer = get() if callable(get) else None
        if layer is None:
            raise IncompatibleError(
                f"text task {task.name!r} names no embedding layer (task.meta['embedding_layer'])"
            )
        return layer
    return operator.attrgetter(path)(task.model)


class CaptumExplainer(TableExplainer):
    """Base of every ``captum.<method>`` adapter; ``spec`` says which method it runs."""

    library: ClassVar[str] = "captum"
    spec: ClassVar[MethodSpec]
    param_specs: ClassVar[dict[str, Spec]] = {
        "space": choice("probability", "logit"),
        "surrogate": choice("linear", "lasso"),
        "baseline": Spec("array"),  # None: the task's removal value
        "method": choice(
            "gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid"
        ),
    }

    @classmethod
    def _defaults(cls) -> dict[str, Any]:
        common: dict[str, Any] = {}
        if cls.spec.gradient:
            common["space"] = "probability"
        if cls.spec.baselines == "point":
            common["baseline"] = None
        if cls.spec.stochastic:
            common["seed"] = 0
        return {**cls.spec.params, **common}

    def _attribute(
        self, task: Task, X: np.ndarray, targets: np.ndarray, scorer: CountingScorer
    ) -> tuple[np.ndarray, dict[str, Any]]:
        import torch

        attr_mod = require("captum.attr", "captum")
        spec, params = self.spec, self.get_params()
        text = task.modality in (TXT, Modality.GENERATION)  # inputs are token ids
        if spec.gradient:
            if params["space"] not in ("probability", "logit"):
                raise InvalidInputError(
                    f"space={params['space']!r}", "'probability' or 'logit'", "Pick one of them."
                )
            forward: Any = _forward_module(task, params["space"])
            dtype, device = model_dtype_device(task.model)
            space = params["space"]
        else:
            forward, dtype, device, space = (
                _scorer_forward(scorer, text),
                torch.float64,
                "cpu",
                "probability",
            )
        in_dtype = torch.long if text else dtype
        inputs = torch.as_tensor(np.asarray(X)).to(device=device, dtype=in_dtype)
        kwargs = (
            spec.kwargs(params, X)
            if spec.kwargs
            else {k: params[k] for k in spec.params if k not in _OWN_PARAMS}
        )
        if params.get("patch") and task.modality is IMG:
            kwargs["feature_mask"] = _patch_mask(X.shape[1:], int(params["patch"])).to(device)
        if spec.baselines != "none":
            kwargs["baselines"] = self._baselines(task, X, params).to(device=device, dtype=in_dtype)
        if spec.delta:
            kwargs["return_convergence_delta"] = True
        use_layer = text and spec.gradient
        ctor: Any = getattr(attr_mod, spec.layer_cls if use_layer else spec.cls)  # type: ignore[arg-type]
        # gradient methods get the wrapped nn.Module (DeepLift and GuidedBackprop need a
        # module); perturbation methods get the counting black-box scorer
        init = spec.init(params) if spec.init else {}
        method = (
            ctor(forward, _embedding_layer(task), **init) if use_layer else ctor(forward, **init)
        )
        meta: dict[str, Any] = {"output_space": space, "captum_class": ctor.__name__}
        with (
            eval_mode(task.model) if task.is_torch else contextlib.nullcontext(),
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always")
            target = torch.as_tensor(targets).to(device)
            # Captum's DeepLift softmax rule normalises over the whole batch, and sampling
            # methods draw for the whole batch, which couples samples: run them one sample
            # at a time (each from the seed) so a batch equals its rows
            per_row = spec.batch_rng or (
                spec.softmax_rule and getattr(forward, "applies_softmax", False)
            )
            try:
                parts = []
                for rows in [slice(i, i + 1) for i in range(len(X))] if per_row else [slice(None)]:
                    with seeded(params.get("seed")):
                        parts.append(
                            method.attribute(
                                inputs[rows],
                                target=target[rows],
                                **_rows(kwargs, rows, spec.baselines == "point"),
                            )
                        )
            except RuntimeError as exc:
                if spec.gradient and ("grad" in str(exc) or "differentiab" in str(exc)):
                    raise IncompatibleError(
                        f"{self.name} needs a differentiable torch model; autograd failed on "
                        f"task {task.name!r}: {str(exc).splitlines()[0]}"
                    ) from exc
                raise
        out = torch.cat([p[0] if spec.delta else p for p in parts])
        messages = {" ".join(str(w.message).split()) for w in caught}
        meta["warnings"] = sorted(
            m for m in messages if not any(e in m for e in _EXPECTED_WARNINGS)
        )
        if spec.gradient:
            meta["model_calls"], meta["model_rows"] = forward.calls, forward.rows
        if spec.delta:  # per sample; sampling methods give one per (sample, draw): average them
            delta = torch.cat([p[1] for p in parts]).detach().double().cpu().numpy()
            meta["convergence_delta"] = delta.reshape(len(X), -1).mean(axis=1).tolist()
        attr = out.detach().double().cpu().numpy()
        if use_layer:  # (n, L, D) embedding attributions -> one value per token
            attr = attr.sum(axis=-1)
            meta["embedding_layer"] = task.meta.get("embedding_layer", "get_input_embeddings()")
        if text:  # padding is not a feature (surrogate regressions give it noise)
            attr = np.where(task.valid_mask(X), attr, 0.0)
        return attr, meta

    def _baselines(self, task: Task, X: np.ndarray, params: dict[str, Any]) -> Any:
        import torch

        if self.spec.baselines == "distribution":
            ref = np.asarray(task.background if task.background is not None else task.X)
            rows = np.random.default_rng(params.get("seed")).choice(
                len(ref), size=min(params["n_background"], len(ref)), replace=False
            )
            return torch.as_tensor(ref[rows])
        value = params.get("baseline")
        base = (
            task.removal_value()
            if value is None
            else np.broadcast_to(np.asarray(value, dtype=np.float64), task.feature_shape)
        )
        base = np.broadcast_to(base, X.shape)
        if task.modality in (TXT, Modality.GENERATION):  # padding stays padding
            base = np.where(task.valid_mask(X), base, X)
        return torch.as_tensor(np.ascontiguousarray(base))


def _patch_mask(shape: tuple[int, ...], patch: int) -> Any:
    """Feature ids grouping ``patch`` x ``patch`` pixel blocks (all channels) into one feature."""
    import torch

    h, w = shape[-2:]
    rows, cols = np.arange(h)[:, None] // patch, np.arange(w)[None, :] // patch
    ids = rows * (-(-w // patch)) + cols
    return torch.as_tensor(np.broadcast_to(ids, shape).copy())[None]


def _rows(kwargs: dict[str, Any], rows: Any, point: bool) -> dict[str, Any]:
    """``attribute`` keyword arguments for a subset of rows (point baselines are per row)."""
    if not point:
        return kwargs
    return {**kwargs, "baselines": kwargs["baselines"][rows]}


def _scorer_forward(scorer: CountingScorer, ids: bool) -> Callable[[Any], Any]:
    import torch

    def forward(x: Any) -> Any:
        arr = x.detach().cpu().numpy()
        if ids:  # surrogate methods may hand back token ids as floats
            arr = np.rint(arr).astype(np.int64)
        return torch.as_tensor(scorer(arr), dtype=torch.float64)

    return forward


def _adapter(method: str) -> type[CaptumExplainer]:
    spec = METHODS[method]
    requires = {Requirement.TORCH_MODEL} if spec.gradient else set()
    space = "model" if spec.gradient else "probability"
    caps = Capabilities(
        modalities=spec.modalities,
        requires=frozenset(requires),
        stochastic=spec.stochastic,
        output_space=space,
    )
    doc = f"Captum ``{spec.cls}``: {spec.summary}"
    upstream = _upstream_defaults(spec)
    return build_adapter(
        CaptumExplainer, f"captum.{method}", caps, spec, doc, upstream_defaults=upstream
    )


# parameters that keep Captum's own name, so their default is read from its signature
_CAPTUM_NAMED = ("n_steps", "method", "abs", "n_samples", "stdevs", "perturbations_per_eval")
# the rest: what Captum does when the argument is not given
_CAPTUM_OTHER = {
    "baseline": "zeros (baselines=None)",
    "window": "none: sliding_window_shapes is required",
    "stride": "1 (strides=None)",
    "n_background": "the baselines you pass",
    "surrogate": "Lasso(alpha=0.01)",
}


def _upstream_defaults(spec: MethodSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in spec.params:
        if name in _CAPTUM_NAMED:
            out[name] = Upstream(f"captum.attr:{spec.cls}.attribute", name)
        elif name in _CAPTUM_OTHER:
            out[name] = _CAPTUM_OTHER[name]
    if spec.baselines == "point":
        out["baseline"] = _CAPTUM_OTHER["baseline"]
    return out


IntegratedGradients = _adapter("integrated_gradients")
LayerIntegratedGradients = _adapter("layer_integrated_gradients")
Saliency = _adapter("saliency")
InputXGradient = _adapter("input_x_gradient")
DeepLift = _adapter("deeplift")
DeepLiftShap = _adapter("deeplift_shap")
GradientShap = _adapter("gradient_shap")
GuidedBackprop = _adapter("guided_backprop")
Occlusion = _adapter("occlusion")
FeatureAblation = _adapter("feature_ablation")
ShapleyValueSampling = _adapter("shapley_value_sampling")
KernelShap = _adapter("kernel_shap")
Lime = _adapter("lime")

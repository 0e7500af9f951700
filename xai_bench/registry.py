"""Registries of explainers, metrics and tasks.

Built-ins are a static map of lazy import paths (``"module:attr"``), so listing ids
imports nothing heavy. Third-party explainers and metrics come from the entry-point
groups ``xai_bench.explainers`` and ``xai_bench.metrics``; they are loaded on first use,
and a plugin that fails to load is marked unavailable with its reason, never fatal.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib import metadata
from typing import Any

from .errors import InvalidInputError, MissingDependencyError, UnknownNameError

__all__ = [
    "get_explainer",
    "get_metric",
    "list_explainers",
    "list_metrics",
    "metric_families",
    "list_tasks",
    "load_task",
    "refused",
    "register_explainer",
    "register_metric",
    "unavailable",
    "unregister_explainer",
    "unregister_metric",
]

# id -> "module:attribute" (relative to xai_bench). Keep sorted within each library.
BUILTIN_EXPLAINERS: dict[str, str] = {
    "random": "adapters.baselines:RandomExplainer",
    "oracle": "adapters.baselines:OracleExplainer",
    "shap.deep": "adapters.shap:DeepShap",
    "shap.exact": "adapters.shap:ExactShap",
    "shap.gradient": "adapters.shap:GradientShap",
    "shap.kernel": "adapters.shap:KernelShap",
    "shap.linear": "adapters.shap:LinearShap",
    "shap.partition": "adapters.shap:PartitionShap",
    "shap.permutation": "adapters.shap:PermutationShap",
    "shap.tree": "adapters.shap:TreeShap",
    "lime.image": "adapters.lime:LimeImage",
    "lime.tabular": "adapters.lime:LimeTabular",
    "lime.text": "adapters.lime:LimeText",
    "eli5.explain_prediction": "adapters.eli5:Eli5Weights",
    "eli5.permutation_importance": "adapters.eli5:Eli5PermutationImportance",
    "eli5.text": "adapters.eli5:Eli5Text",
    "captum.deeplift": "adapters.captum:DeepLift",
    "captum.deeplift_shap": "adapters.captum:DeepLiftShap",
    "captum.feature_ablation": "adapters.captum:FeatureAblation",
    "captum.gradient_shap": "adapters.captum:GradientShap",
    "captum.guided_backprop": "adapters.captum:GuidedBackprop",
    "captum.input_x_gradient": "adapters.captum:InputXGradient",
    "captum.integrated_gradients": "adapters.captum:IntegratedGradients",
    "captum.kernel_shap": "adapters.captum:KernelShap",
    "captum.layer_integrated_gradients": "adapters.captum:LayerIntegratedGradients",
    "captum.lime": "adapters.captum:Lime",
    "captum.occlusion": "adapters.captum:Occlusion",
    "captum.saliency": "adapters.captum:Saliency",
    "captum.shapley_value_sampling": "adapters.captum:ShapleyValueSampling",
    "inseq.attention": "adapters.inseq:Attention",
    "inseq.deeplift": "adapters.inseq:DeepLift",
    "inseq.discretized_integrated_gradients": "adapters.inseq:DiscretizedIntegratedGradients",
    "inseq.gradient_shap": "adapters.inseq:GradientShap",
    "inseq.input_x_gradient": "adapters.inseq:InputXGradient",
    "inseq.integrated_gradients": "adapters.inseq:IntegratedGradients",
    "inseq.layer_gradient_x_activation": "adapters.inseq:LayerGradientXActivation",
    "inseq.lime": "adapters.inseq:Lime",
    "inseq.occlusion": "adapters.inseq:Occlusion",
    "inseq.saliency": "adapters.inseq:Saliency",
    "inseq.sequential_integrated_gradients": "adapters.inseq:SequentialIntegratedGradients",
    # inside the model (issue 14): component explainers, runnable on component tasks
    "components.activation_norm": "adapters.components:ActivationNorm",
    "components.activation_patching": "adapters.components:ActivationPatching",
    "components.atp": "adapters.components:AttributionPatching",
    "components.eap": "adapters.components:EdgeAttributionPatching",
    "components.ig_activations": "adapters.components:ActivationIG",
    "components.random": "adapters.components:RandomComponents",
    "components.atp_star": "adapters.components:AttributionPatchingStar",
    "components.atp_graddrop": "adapters.components:GradDrop",
    "components.eap_ig": "adapters.components:EdgeAttributionPatchingIG",
    "components.layer_conductance": "adapters.components:CaptumLayerConductance",
    "components.internal_influence": "adapters.components:CaptumInternalInfluence",
    "components.layer_activation": "adapters.components:CaptumLayerActivation",
    "components.layer_feature_ablation": "adapters.components:CaptumLayerFeatureAblation",
    "components.acdc": "adapters.components:ACDC",
    "components.attention_pattern": "adapters.components:AttentionHeuristic",
    "components.causal_tracing": "adapters.components:CausalTracing",
    "components.probe_linear": "adapters.components:LinearProbe",
    "components.probe_sparse": "adapters.components:SparseProbe",
}

BUILTIN_METRICS: dict[str, str] = {
    "deletion_auc": "metrics.deletion:DeletionAUC",
    "insertion_auc": "metrics.deletion:InsertionAUC",
    "lerf_auc": "metrics.deletion:LeRFAUC",
    "abpc": "metrics.deletion:ABPC",
    "aopc": "metrics.deletion:AOPC",
    "comprehensiveness": "metrics.eraser:Comprehensiveness",
    "sufficiency": "metrics.eraser:Sufficiency",
    "ablation_spearman": "metrics.ablation:AblationSpearman",
    "ablation_kendall": "metrics.ablation:AblationKendall",
    "faithfulness_correlation": "metrics.ablation:FaithfulnessCorrelation",
    "infidelity": "metrics.infidelity:Infidelity",
    "faithfulness_estimate": "metrics.groupwise:FaithfulnessEstimate",
    "monotonicity_nguyen": "metrics.groupwise:MonotonicityNguyen",
    "monotonicity_arya": "metrics.monotonicity:MonotonicityArya",
    "region_perturbation": "metrics.regions:RegionPerturbation",
    "selectivity": "metrics.regions:Selectivity",
    "irof": "metrics.irof:IROF",
    "sensitivity_n": "metrics.sensitivity_n:SensitivityN",
    "road": "metrics.road:ROAD",
    "sufficiency_dasgupta": "metrics.dasgupta:SufficiencyDasgupta",
    "sensitivity_max": "metrics.robustness:SensitivityMax",
    "model_randomisation": "metrics.randomisation:ModelRandomisation",
    "smooth_mprt": "metrics.randomisation:SmoothMPRT",
    "efficient_mprt": "metrics.randomisation:EfficientMPRT",
    "random_logit": "metrics.randomisation:RandomLogit",
    "precision_at_k": "metrics.groundtruth:PrecisionAtK",
    "sparseness": "metrics.complexity:Sparseness",
    "complexity": "metrics.complexity:Complexity",
    "effective_complexity": "metrics.complexity:EffectiveComplexity",
    "pointing_game": "metrics.localisation:PointingGame",
    "top_k_intersection": "metrics.localisation:TopKIntersection",
    "relevance_rank_accuracy": "metrics.localisation:RelevanceRankAccuracy",
    "relevance_mass_accuracy": "metrics.localisation:RelevanceMassAccuracy",
    "attribution_localisation": "metrics.localisation:AttributionLocalisation",
    "auc": "metrics.localisation:AUC",
    "focus": "metrics.localisation:Focus",
    "feature_agreement": "metrics.openxai:FeatureAgreement",
    "rank_agreement": "metrics.openxai:RankAgreement",
    "sign_agreement": "metrics.openxai:SignAgreement",
    "signed_rank_agreement": "metrics.openxai:SignedRankAgreement",
    "rank_correlation": "metrics.openxai:RankCorrelation",
    "pairwise_rank_agreement": "metrics.openxai:PairwiseRankAgreement",
    "pgi": "metrics.openxai:PGI",
    "pgu": "metrics.openxai:PGU",
    "completeness": "metrics.axiomatic:Completeness",
    "avg_sensitivity": "metrics.robustness:AvgSensitivity",
    "local_lipschitz_estimate": "metrics.robustness:LocalLipschitzEstimate",
    "continuity": "metrics.robustness:Continuity",
    "consistency": "metrics.robustness:Consistency",
    "relative_input_stability": "metrics.stability:RelativeInputStability",
    "relative_output_stability": "metrics.stability:RelativeOutputStability",
    "relative_representation_stability": "metrics.stability:RelativeRepresentationStability",
    "non_sensitivity": "metrics.axiomatic:NonSensitivity",
    "input_invariance": "metrics.axiomatic:InputInvariance",
    # inside the model (issue 14): component metrics, family "components"
    "cpr": "metrics.components:CPR",
    "cmd": "metrics.components:CMD",
    "necessity": "metrics.components:Necessity",
    "precision_at_truth": "metrics.components:PrecisionAtTruth",
    "auroc_truth": "metrics.components:AUROCTruth",
    "patching_agreement": "metrics.components:PatchingAgreement",
}

# task id -> "module:function" returning a Task
BUILTIN_TASKS: dict[str, str] = {
    "breast_cancer.mlp": "tasks.tabular:breast_cancer_mlp",
    "breast_cancer.gbt": "tasks.tabular:breast_cancer_gbt",
    "synthetic.linear": "tasks.tabular:synthetic_linear",
    "synthetic.regression": "tasks.tabular:synthetic_regression",
    "digits.cnn": "tasks.image:digits_cnn",
    "shapes.cnn": "tasks.shapes:shapes_cnn",
    "sentiment.transformer": "tasks.text:sentiment_transformer",
    "sentiment.tfidf": "tasks.text:sentiment_tfidf",
    "generation.tiny_gpt": "tasks.generation:tiny_gpt",
    # component tasks (xai_bench.components.ComponentTask): one line per builder
    "components.planted_induction": "components.tasks:planted_induction",
    "components.free_induction": "components.tasks:free_induction",
    "components.ioi": "components.tasks:ioi",
    "components.mlp_distractors": "components.tasks:mlp_distractors",
    "components.mlp_neurons": "components.tasks:mlp_neurons",
    "components.previous_token": "components.tasks:previous_token",
    "components.first_token": "components.tasks:first_token",
}

# which optional extra provides each top-level backend module
EXTRAS = {
    "shap": "shap",
    "lime": "lime",
    "eli5": "eli5",
    "captum": "captum",
    "inseq": "inseq",
    "torch": "torch",
    "transformers": "text",
    "tokenizers": "text",
    "dask": "dask",
    "distributed": "dask",
}


class _Registry:
    def __init__(self, kind: str, builtins: dict[str, str], group: str | None) -> None:
        self.kind, self.group = kind, group
        self._paths: dict[str, str] = dict(builtins)
        self._objects: dict[str, Any] = {}  # registered in-process, or resolved and cached
        self._registered: set[str] = set()
        self._plugins: dict[str, metadata.EntryPoint] | None = None
        self._unavailable: dict[str, str] = {}  # plugins that failed to load
        self._refused: dict[str, str] = {}  # plugins that claim a built-in id

    # entry points are discovered once, loaded only when used
    def _discover(self) -> dict[str, metadata.EntryPoint]:
        if self._plugins is None:
            self._plugins = {}
            if self.group:
                for ep in metadata.entry_points(group=self.group):
                    if ep.name in self._paths:
                        self._refused[ep.name] = (
                            f"plugin {ep.value!r} from {_dist(ep)} claims the built-in id"
                            f" {ep.name!r}; the built-in is used. Rename the plugin's entry point."
                        )
                    else:
                        self._plugins[ep.name] = ep
        return self._plugins

    def names(self) -> list[str]:
        """Usable ids: plugins found broken are left out."""
        ids = {*self._paths, *self._objects, *self._discover()}
        return sorted(ids - (set(self._unavailable) - set(self._objects)))

    def unavailable(self) -> dict[str, str]:
        self._discover()
        return dict(self._unavailable)

    def refused(self) -> dict[str, str]:
        self._discover()
        return dict(self._refused)

    def register(self, obj: Any, name: str, overwrite: bool = False) -> None:
        if not overwrite and name in self.names():
            raise InvalidInputError(
                f"{self.kind} id {name!r} is already registered",
                "a new id",
                "Pick another id, or pass overwrite=True to replace it.",
            )
        self._objects[name] = obj
        self._registered.add(name)
        self._unavailable.pop(name, None)

    def unregister(self, name: str) -> Any:
        if name not in self._registered:
            raise InvalidInputError(
                f"{self.kind} id {name!r} was not registered in this process",
                f"one of {sorted(self._registered)}",
                "Unregister only ids added with register_*; built-ins and plugins stay.",
            )
        self._registered.discard(name)
        return self._objects.pop(name)

    def resolve(self, name: str) -> Any:
        if name in self._objects:
            return self._objects[name]
        plugins = self._discover()
        if name in self._unavailable:
            raise InvalidInputError(
                f"{self.kind} {name!r} is unavailable: {self._unavailable[name]}",
                "a plugin that loads",
                "Reinstall or fix the plugin package that provides it.",
            )
        if name in self._paths:
            obj = _load_path(self._paths[name])
        elif name in plugins:
            ep = plugins[name]
            try:
                obj = ep.load()
            except Exception as exc:  # a broken plugin must never take the host down
                self._unavailable[name] = f"failed to load {ep.value!r} from {_dist(ep)}: {exc!r}"
                raise InvalidInputError(
                    f"{self.kind} {name!r} is unavailable: {self._unavailable[name]}",
                    "a plugin that loads",
                    "Reinstall or fix the plugin package that provides it.",
                ) from exc
        else:
            raise UnknownNameError(self.kind, name, self.names())
        self._objects[name] = obj
        return obj


def _dist(ep: metadata.EntryPoint) -> str:
    return getattr(ep.dist, "name", "?") if getattr(ep, "dist", None) else "?"


def _load_path(path: str) -> Any:
    module, _, attr = path.partition(":")
    try:
        mod = importlib.import_module(f"xai_bench.{module}")
    except MissingDependencyError:
        raise
    except ImportError as exc:
        top = (exc.name or "").split(".")[0]
        if top in EXTRAS:
            raise MissingDependencyError(top, EXTRAS[top], exc) from exc
        raise
    return getattr(mod, attr)


_EXPLAINERS = _Registry("explainer", BUILTIN_EXPLAINERS, "xai_bench.explainers")
_METRICS = _Registry("metric", BUILTIN_METRICS, "xai_bench.metrics")
_TASKS = _Registry("task", BUILTIN_TASKS, None)


def list_explainers() -> list[str]:
    """Ids of every explainer: built-in, registered in-process, or from a plugin.

    Returns
    -------
    list of str
        Sorted ids; plugins that failed to load are left out.

    Examples
    --------
    >>> "shap.kernel" in xb.list_explainers()
    True
    """
    return _EXPLAINERS.names()


def list_metrics(family: str | None = None) -> list[str]:
    """Ids of every metric: built-in, registered in-process, or from a plugin.

    Parameters
    ----------
    family : str, optional
        Only the ids of this ``MetricInfo.family`` (e.g. ``"localisation"``).

    Returns
    -------
    list of str
        Sorted ids; plugins that failed to load are left out.

    Raises
    ------
    InvalidInputError
        If ``family`` is not one of the metric families.

    Examples
    --------
    >>> "deletion_auc" in xb.list_metrics(family="faithfulness")
    True
    """
    if family is None:
        return _METRICS.names()
    from .metrics.base import FAMILIES

    if family not in FAMILIES:
        raise InvalidInputError(
            f"metric family {family!r}", f"one of {', '.join(FAMILIES)}", "Check the spelling."
        )
    return [name for name, fam in metric_families().items() if fam == family]


def metric_families() -> dict[str, str]:
    """Metric id -> its ``MetricInfo.family`` (imports each metric's module, never a backend);
    a plugin that fails to load is left out (see ``unavailable()``)."""
    out = {}
    for name in _METRICS.names():
        try:
            info = getattr(_METRICS.resolve(name), "info", None)
        except InvalidInputError:
            continue
        out[name] = getattr(info, "family", "faithfulness")
    return out


def list_tasks() -> list[str]:
    """Ids of every task: built-in or registered in-process.

    Returns
    -------
    list of str
        Sorted ids.

    Examples
    --------
    >>> "synthetic.linear" in xb.list_tasks()
    True
    """
    return _TASKS.names()


def unavailable(kind: str | None = None) -> dict[str, str]:
    """Plugins that failed to load, with the reason (``kind``: "explainer", "metric" or
    None for both)."""
    regs = [r for r in (_EXPLAINERS, _METRICS) if kind in (None, r.kind)]
    return {k: v for r in regs for k, v in r.unavailable().items()}


def refused(kind: str | None = None) -> dict[str, str]:
    """Plugins refused because they claim a built-in id (the built-in stays in use)."""
    regs = [r for r in (_EXPLAINERS, _METRICS) if kind in (None, r.kind)]
    return {k: v for r in regs for k, v in r.refused().items()}


def explainer_class(name: str) -> type:
    return _EXPLAINERS.resolve(name)


def metric_class(name: str) -> type:
    return _METRICS.resolve(name)


def get_explainer(name: str, **params: Any) -> Any:
    """An explainer instance by id, e.g. ``get_explainer("shap.kernel", n_samples=200)``.

    Parameters
    ----------
    name : str
        A registered explainer id (``xai-bench list explainers``).
    **params
        Its constructor parameters.

    Returns
    -------
    Explainer
        A new instance.

    Raises
    ------
    UnknownNameError
        If no explainer has that id.
    InvalidInputError
        If a parameter is not accepted by the explainer.
    MissingDependencyError
        If the library the explainer wraps is not installed.

    Examples
    --------
    >>> xb.get_explainer("random").name
    'random'
    """
    return _instantiate(_EXPLAINERS.resolve(name), name, params, "explainer")


def get_metric(name: str, **params: Any) -> Any:
    """A metric instance by id, e.g. ``get_metric("deletion_auc", steps=20)``.

    Parameters
    ----------
    name : str
        A registered metric id (``xai-bench list metrics``).
    **params
        Its constructor parameters.

    Returns
    -------
    Metric
        A new instance.

    Raises
    ------
    UnknownNameError
        If no metric has that id.
    InvalidInputError
        If a parameter is not accepted by the metric.

    Examples
    --------
    >>> xb.get_metric("deletion_auc").info.name
    'deletion_auc'
    """
    return _instantiate(_METRICS.resolve(name), name, params, "metric")


def _instantiate(cls: Callable[..., Any], name: str, params: dict[str, Any], kind: str) -> Any:
    try:
        return cls(**params)
    except TypeError as exc:
        import inspect

        try:
            allowed = [p for p in inspect.signature(cls).parameters if p != "self"]
        except (TypeError, ValueError):
            allowed = []
        raise InvalidInputError(
            f"bad parameters {sorted(params)} for {kind} {name!r} ({exc})",
            f"parameters among {allowed}",
            f"Check the spelling; see help(xai_bench.get_{kind}({name!r})).",
        ) from exc


def register_explainer(cls: Any, name: str | None = None, overwrite: bool = False) -> Any:
    """Register an explainer class for in-process use; usable as a decorator.

    Parameters
    ----------
    cls : type
        The explainer class.
    name : str, optional
        Its id; defaults to ``cls.name``.
    overwrite : bool
        Replace an id that is already registered.

    Returns
    -------
    type
        ``cls``, unchanged.

    Raises
    ------
    InvalidInputError
        If the class has no string ``name`` or the id is taken and ``overwrite`` is False.

    Examples
    --------
    >>> class Zeros(xb.BaseExplainer):
    ...     name = "demo.zeros"
    ...     library = "demo"
    ...     capabilities = xb.Capabilities(modalities=frozenset({xb.Modality.TABULAR}))
    ...     def _attribute(self, task, X, targets, scorer):
    ...         return np.zeros(X.shape)
    >>> _ = xb.register_explainer(Zeros)
    >>> "demo.zeros" in xb.list_explainers()
    True
    >>> _ = xb.registry.unregister_explainer("demo.zeros")
    """
    _EXPLAINERS.register(cls, name or _class_name(cls, "explainer"), overwrite)
    return cls


def register_metric(cls: Any, name: str | None = None, overwrite: bool = False) -> Any:
    """Register a metric class for in-process use; usable as a decorator.

    Parameters
    ----------
    cls : type
        The metric class.
    name : str, optional
        Its id; defaults to ``cls.info.name``.
    overwrite : bool
        Replace an id that is already registered.

    Returns
    -------
    type
        ``cls``, unchanged.

    Raises
    ------
    InvalidInputError
        If the class has no string ``name`` or the id is taken and ``overwrite`` is False.

    Examples
    --------
    >>> class Mean(xb.Metric):
    ...     name = "demo.mean"
    ...     info = xb.MetricInfo(name="demo.mean", higher_is_better=True)
    ...     def score(self, task, X, explanation):
    ...         return xb.MetricResult("demo.mean", explanation.attributions.mean(axis=1))
    >>> _ = xb.register_metric(Mean)
    >>> "demo.mean" in xb.list_metrics()
    True
    >>> _ = xb.registry.unregister_metric("demo.mean")
    """
    info = getattr(cls, "info", None)
    _METRICS.register(
        cls, name or getattr(info, "name", None) or _class_name(cls, "metric"), overwrite
    )
    return cls


def unregister_explainer(name: str) -> Any:
    """Undo ``register_explainer`` for ``name`` and return the class it held.

    A built-in or plugin id it had overwritten resolves to the original again. For
    scoped registration, e.g. a test fixture that registers, yields, and unregisters.
    """
    return _EXPLAINERS.unregister(name)


def unregister_metric(name: str) -> Any:
    """Undo ``register_metric`` for ``name`` and return the class it held."""
    return _METRICS.unregister(name)


def register_task(factory: Callable[[], Any], name: str, overwrite: bool = False) -> None:
    """Register a zero-argument function returning a Task under ``name``."""
    _TASKS.register(factory, name, overwrite)


def load_task(name: str) -> Any:
    """A built-in (or registered) task by id, built offline and cached on disk.

    Parameters
    ----------
    name : str
        A task id (``xai-bench list tasks``).

    Returns
    -------
    Task

    Raises
    ------
    UnknownNameError
        If no task has that id.

    Examples
    --------
    >>> xb.load_task("synthetic.linear").modality
    <Modality.TABULAR: 'tabular'>
    """
    return _TASKS.resolve(name)()


def _class_name(cls: Any, kind: str) -> str:
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise InvalidInputError(
            f"{kind} class {getattr(cls, '__name__', cls)!r} has no string `name`",
            "a ClassVar `name` like 'mylib.method'",
            "Set `name = 'mylib.method'` on the class or pass name=...",
        )
    return name

"""Hyperparameters are checked against declared specs when an explainer or metric is built."""

from __future__ import annotations

import numbers

import pytest

import xai_bench as xb
from xai_bench._params import Parameterised, param_specs
from xai_bench.errors import InvalidInputError
from xai_bench.registry import BUILTIN_EXPLAINERS, BUILTIN_METRICS, explainer_class, metric_class

BUILT = [("explainer", n) for n in sorted(BUILTIN_EXPLAINERS)] + [
    ("metric", n) for n in sorted(BUILTIN_METRICS)
]


def _cls(kind: str, name: str) -> type:
    return explainer_class(name) if kind == "explainer" else metric_class(name)


def _get(kind: str, name: str, **params):
    return (xb.get_explainer if kind == "explainer" else xb.get_metric)(name, **params)


@pytest.mark.parametrize(("kind", "name"), BUILT, ids=[n for _, n in BUILT])
def test_every_numeric_parameter_rejects_wrong_types(kind, name):
    cls = _cls(kind, name)
    defaults = cls().get_params()  # the defaults themselves pass
    specs = param_specs(cls)
    numeric = [
        p
        for p, v in defaults.items()
        if (isinstance(v, numbers.Real) and not isinstance(v, bool))
        or (p in specs and specs[p].kind in ("int", "float"))
    ]
    for p in numeric:
        assert specs[p].kind in ("int", "float"), (name, p)
        for bad in ("abc", True, [1, 2]):
            with pytest.raises(InvalidInputError, match=rf"parameter {p}="):
                _get(kind, name, **{p: bad})
        if specs[p].kind == "int":
            with pytest.raises(InvalidInputError, match="whole number"):
                _get(kind, name, **{p: 2.5})
    for p, spec in specs.items():  # booleans: no strings, no numbers
        if spec.kind == "bool":
            for bad in ("no", "true", 1):
                with pytest.raises(InvalidInputError, match=rf"parameter {p}="):
                    _get(kind, name, **{p: bad})


@pytest.mark.parametrize(
    ("kind", "name", "params", "message"),
    [
        ("explainer", "captum.integrated_gradients", {"n_steps": 0}, "n_steps=0 .out of range"),
        ("explainer", "captum.integrated_gradients", {"n_steps": -3}, "integer >= 1"),
        ("explainer", "shap.kernel", {"n_samples": -1}, "n_samples=-1"),
        ("explainer", "shap.kernel", {"n_samples": True}, "a bool, not a number"),
        ("explainer", "captum.saliency", {"abs": "no"}, "a str, not a boolean"),
        ("metric", "deletion_auc", {"steps": 2.7}, "would be truncated"),
        ("metric", "precision_at_k", {"k": 0}, "k=0"),
        ("metric", "infidelity", {"n_perturbations": 0}, "integer >= 2"),
        ("metric", "infidelity", {"subset_size": 1.5}, "<= 1"),
        ("metric", "faithfulness_correlation", {"n_runs": 1}, "n_runs=1"),
        ("metric", "sensitivity_max", {"radius": -0.1}, "> 0"),
        ("metric", "comprehensiveness", {"fractions": (0.1, 2.0)}, "out of range"),
        ("explainer", "shap.permutation", {"max_evals": "lots"}, "'auto'"),
        ("explainer", "lime.tabular", {"seed": -1}, "integer >= 0"),
        ("explainer", "captum.lime", {"baseline": "zero"}, "array of numbers"),
    ],
)
def test_cases_that_used_to_run_or_fail_late(kind, name, params, message):
    with pytest.raises(InvalidInputError, match=message):
        _get(kind, name, **params)


@pytest.mark.parametrize(
    ("kind", "name", "params", "hint"),
    [
        ("metric", "deletion_auc", {"baseline": "purple"}, None),
        ("metric", "deletion_auc", {"space": "logodds"}, "space='log_odds'"),
        ("metric", "deletion_auc", {"order": "absolute"}, "order='abs'"),
        ("explainer", "captum.integrated_gradients", {"space": "logits"}, "space='logit'"),
        ("explainer", "shap.kernel", {"background_summary": "kmean"}, "'kmeans'"),
        ("explainer", "captum.integrated_gradients", {"method": "riemann"}, "riemann_"),
        ("metric", "model_randomisation", {"method": "spearmn"}, "'spearman'"),
    ],
)
def test_unknown_options_list_the_valid_ones_and_suggest_the_closest(kind, name, params, hint):
    with pytest.raises(InvalidInputError) as info:
        _get(kind, name, **params)
    text = str(info.value)
    assert "not a known option" in text and "expected one of" in text
    assert (hint in text) if hint else "Did you mean" not in text


def test_valid_values_pass_and_integral_floats_become_ints():
    m = xb.get_metric("deletion_auc", steps=20.0, baseline=0.5, space="log_odds")
    assert m.steps == 20 and isinstance(m.steps, int) and m.baseline == 0.5
    assert xb.get_metric("deletion_auc", baseline="impute").baseline == "impute"
    assert xb.get_explainer("shap.kernel", n_samples=None).n_samples is None
    assert xb.get_explainer("shap.permutation", max_evals=300).max_evals == 300
    assert xb.get_metric("comprehensiveness", fractions=[0.1, 0.5]).fractions == (0.1, 0.5)


def test_a_direct_constructor_is_checked_too():
    from xai_bench.metrics.deletion import DeletionAUC

    with pytest.raises(InvalidInputError, match="steps"):
        DeletionAUC(steps=0)


def test_subclasses_are_checked_once_after_the_outermost_constructor():
    calls = []

    class Base(Parameterised):
        def __init__(self, n_samples: int = 5) -> None:
            calls.append("base")
            self.n_samples = n_samples

    class Child(Base):
        def __init__(self, n_samples: int = 5, radius: float = 0.1) -> None:
            super().__init__(n_samples)
            self.radius = radius  # set after the parent's constructor returned

    assert Child(radius=0.5).radius == 0.5 and calls == ["base"]
    with pytest.raises(InvalidInputError, match="radius"):
        Child(radius=0)
    with pytest.raises(InvalidInputError, match="n_samples"):
        Child(n_samples=0)

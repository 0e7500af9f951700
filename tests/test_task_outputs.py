"""Output kinds of a Task (classification, one logit, regression), refusals of outputs
that cannot be probabilities, float64 scoring and targets by class name."""

from __future__ import annotations

import numpy as np
import pytest

import xai_bench as xb
from xai_bench.errors import InvalidInputError


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    return X, X @ np.array([2.0, -1.0, 0.5, 0.0]) + 3.0


def _linear_module(w, b, dtype=None):
    import torch

    layer = torch.nn.Linear(len(w), 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([w]))
        layer.bias.fill_(b)
    return layer.to(dtype) if dtype is not None else layer


# -- regression ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["linear", "tree"])
def test_from_sklearn_regressor_is_a_regression_task(data, kind):
    from sklearn.linear_model import Ridge
    from sklearn.tree import DecisionTreeRegressor

    X, y = data
    model = (Ridge() if kind == "linear" else DecisionTreeRegressor(max_depth=3)).fit(X, y)
    task = xb.Task.from_sklearn(model, X, y)
    assert task.output_kind == "regression" and task.n_outputs == 1
    assert task.is_sklearn  # white-box adapters (shap.tree, eli5) accept it
    np.testing.assert_array_equal(task.predict(X[:5]), model.predict(X[:5])[:, None])
    np.testing.assert_array_equal(task.resolve_targets(X[:5]), 0)  # the prediction itself
    with pytest.raises(InvalidInputError, match="target 0"):
        task.resolve_targets(X[:2], [0, 1])


def test_from_torch_regression_and_callable_regression(data):
    X, _ = data
    module = _linear_module([1.0, 2.0, 0.0, -1.0], 0.5)
    task = xb.Task.from_torch(module, X, output="regression")
    expected = X @ np.array([1.0, 2.0, 0.0, -1.0]) + 0.5
    np.testing.assert_allclose(task.predict(X)[:, 0], expected, rtol=1e-5, atol=1e-5)
    for shape in (lambda z: z, lambda z: z[:, None]):  # (n,) and (n, 1)
        call = xb.Task(
            "call", "tabular", X, lambda b, s=shape: s(b @ np.ones(4)), output_kind="regression"
        )
        np.testing.assert_allclose(call.predict(X[:3]), (X[:3] @ np.ones(4))[:, None])


# -- one logit ---------------------------------------------------------------------------------
def test_one_logit_module_is_refused_unless_named(data):
    X, _ = data
    module = _linear_module([1.0, 2.0, 0.0, -1.0], 0.0)
    with pytest.raises(InvalidInputError, match="binary_logit"):
        xb.Task.from_torch(module, X)  # was: probabilities [[1.], [1.], ...]
    task = xb.Task.from_torch(module, X, output="binary_logit")
    z = X @ np.array([1.0, 2.0, 0.0, -1.0])
    p = task.predict(X)
    assert task.output_kind == "binary_logit" and task.n_outputs == 2
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-6)
    np.testing.assert_allclose(p.sum(1), 1.0)
    np.testing.assert_array_equal(task.predicted(X), (z > 0).astype(int))


def test_callable_one_logit_through_a_sigmoid(data):
    X, _ = data
    task = xb.Task("logit", "tabular", X, lambda b: 40.0 * b[:, 0], output_kind="binary_logit")
    p = task.predict(X)
    z = 40.0 * X[:, 0]
    # both tails exact (no 1 - p cancellation): p0 = sigmoid(-z)
    np.testing.assert_allclose(p[:, 0], 1 / (1 + np.exp(z)), rtol=1e-12)
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-12)


# -- outputs that cannot be probabilities --------------------------------------------------------
BAD_SCORERS = [
    (lambda b: np.ones((len(b), 1)), "shape"),  # a one-column "probability" (was accepted)
    (lambda b: np.tile([0.0, 1.0], (len(b), 1)), "same one-hot"),  # (was accepted)
    (lambda b: np.full((len(b), 2), 0.7), "sum"),  # rows not summing to 1
    (lambda b: np.column_stack([-b[:, 0], 1 + b[:, 0]]), "sum|logits"),  # negative values
]


def test_outputs_that_cannot_be_probabilities_are_refused(data):
    X, _ = data
    for scorer, match in BAD_SCORERS:
        task = xb.Task("bad", "tabular", X, scorer)
        with pytest.raises(InvalidInputError, match=match):
            task.predict(X[:4])
        with pytest.raises(InvalidInputError):  # never a score
            xb.get_explainer("captum.feature_ablation").explain(task, X[:4])


def test_saturated_constant_one_hot_module_is_refused_at_construction(data):
    import torch

    X, _ = data
    layer = torch.nn.Linear(4, 2)
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.copy_(torch.tensor([0.0, 1000.0]))  # every row: [0, 1] exactly
    with pytest.raises(InvalidInputError, match="same one-hot"):
        xb.Task.from_torch(layer, X)


def test_unknown_output_kind_is_refused(data):
    X, _ = data
    with pytest.raises(InvalidInputError, match="output_kind"):
        xb.Task("x", "tabular", X, lambda b: b, output_kind="ranking")
    with pytest.raises(InvalidInputError, match="output="):
        xb.Task.from_torch(_linear_module([1.0] * 4, 0.0), X, output="sigmoid")


# -- float64 end to end ---------------------------------------------------------------------------
def test_float64_model_scored_in_float64_on_saturated_samples():
    import torch

    from xai_bench.metrics.deletion import curve

    rng = np.random.default_rng(1)
    X = rng.standard_normal((8, 3))
    X[:, 0] = 4.5 + rng.random(8)  # margins 4 * x0 in [18, 22]: p = 1.0 in float32
    layer = torch.nn.Linear(3, 2).double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[-2.0, 0.0, 0.0], [2.0, 0.0, 0.0]], dtype=torch.float64))
        layer.bias.zero_()
    task = xb.Task.from_torch(layer, X)
    margin = 4.0 * X[:, 0]
    p = task.predict(X)
    assert p.dtype == np.float64
    np.testing.assert_allclose(p[:, 0], np.exp(-margin) / (1 + np.exp(-margin)), rtol=1e-12)
    assert (p[:, 0] > 0).all() and (p[:, 1] < 1).all()  # float32 rounds them to 0 and 1
    # the metrics keep that precision: log-odds of the target at x is the margin itself
    e = xb.Explanation(np.tile([1.0, 0.0, 0.0], (8, 1)), np.ones(8, int), "manual")
    res = curve(task, X, e, steps=3, space="log_odds")
    np.testing.assert_allclose(res.curves[:, 0], margin, atol=1e-5)  # float32: clipped at 16.1
    assert res.params["log_odds_clip"] == 1e-15


# -- targets by class name ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def named():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    y = np.where(X[:, 0] > 0, "benign", "malignant")
    model = LogisticRegression().fit(X, y)
    return xb.Task.from_sklearn(model, X, y), X


def test_targets_by_class_name(named):
    task, X = named
    assert task.class_names == ("benign", "malignant")
    np.testing.assert_array_equal(
        task.resolve_targets(X[:3], ["malignant", "benign", "benign"]), [1, 0, 0]
    )
    np.testing.assert_array_equal(task.resolve_targets(X[:3], "malignant"), [1, 1, 1])
    ex = xb.get_explainer("captum.feature_ablation")
    by_name = ex.explain(task, X[:3], targets=["malignant", "benign", "malignant"])
    by_index = ex.explain(task, X[:3], targets=[1, 0, 1])
    np.testing.assert_array_equal(by_name.targets, [1, 0, 1])
    np.testing.assert_array_equal(by_name.attributions, by_index.attributions)


def test_unknown_class_name_lists_the_valid_names(named):
    task, X = named
    with pytest.raises(InvalidInputError, match=r"unknown class name.*'benign', 'malignant'"):
        task.resolve_targets(X[:2], ["benign", "healthy"])
    no_names = xb.Task("anon", "tabular", X, task.predict_proba)
    with pytest.raises(InvalidInputError, match="no class_names"):
        no_names.resolve_targets(X[:1], ["benign"])


def test_metric_scores_explanations_whose_targets_are_class_names(named):
    task, X = named
    attr = np.tile([1.0, 0.5, 0.0, -0.5], (3, 1))
    by_name = xb.Explanation(attr, np.array(["malignant", "benign", "malignant"]), "manual")
    by_index = xb.Explanation(attr, [1, 0, 1], "manual")
    metric = xb.get_metric("deletion_auc", steps=4)
    np.testing.assert_array_equal(
        metric.score(task, X[:3], by_name).scores, metric.score(task, X[:3], by_index).scores
    )
    with pytest.raises(InvalidInputError, match="unknown class name"):
        metric.score(task, X[:3], xb.Explanation(attr, np.array(["a", "b", "c"]), "manual"))

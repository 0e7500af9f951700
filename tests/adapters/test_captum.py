"""Captum adapters: closed forms, completeness, axioms and the reliability rows."""

from __future__ import annotations

import numpy as np
import pytest

import xai_bench as xb
from xai_bench.errors import IncompatibleError, InvalidInputError

torch = pytest.importorskip("torch")
pytest.importorskip("captum")
nn = torch.nn


@pytest.fixture(scope="session")
def mlp():
    return xb.load_task("breast_cancer.mlp")


@pytest.fixture(scope="session")
def linear():
    return xb.load_task("synthetic.linear")


def _target_gap(task, X, targets, baseline):
    p = task.predict(X)[np.arange(len(X)), targets]
    b = task.predict(np.ascontiguousarray(np.broadcast_to(baseline, X.shape)))[
        np.arange(len(X)), targets
    ]
    return p - b


def _logit_weights(task, targets):
    w = task.model.weight.detach().double().numpy()
    return w[targets]


# -- integrated gradients ------------------------------------------------------------
def test_ig_completeness_probability_space(mlp):
    X = mlp.X[:10]
    ex = xb.get_explainer("captum.integrated_gradients", n_steps=128).explain(mlp, X)
    gap = _target_gap(mlp, X, ex.targets, mlp.removal_value())
    np.testing.assert_allclose(ex.flat().sum(1), gap, atol=2e-3)
    np.testing.assert_allclose(ex.meta["convergence_delta"], ex.flat().sum(1) - gap, atol=1e-4)
    assert ex.meta["output_space"] == "probability"
    assert ex.meta["library"] == "captum" and ex.meta["model_calls"] >= 1
    assert np.abs(gap).max() > 0.1  # the check is not vacuous


def test_ig_linear_closed_form_in_logit_space(linear):
    X = linear.X[:16]
    ex = xb.get_explainer("captum.integrated_gradients", space="logit").explain(linear, X)
    b = linear.removal_value()
    expected = _logit_weights(linear, ex.targets) * (X - b)
    np.testing.assert_allclose(ex.attributions, expected, atol=1e-5)
    assert ex.meta["output_space"] == "logit"


def test_ig_explicit_baseline_and_targets(linear):
    X = linear.X[:6]
    targets = np.array([0, 1, 0, 1, 0, 1])
    ex = xb.get_explainer("captum.integrated_gradients", space="logit", baseline=0.0).explain(
        linear, X, targets=targets
    )
    np.testing.assert_array_equal(ex.targets, targets)
    np.testing.assert_allclose(ex.attributions, _logit_weights(linear, targets) * X, atol=1e-5)


def test_ig_dummy_features_get_zero(linear):
    ex = xb.get_explainer("captum.integrated_gradients").explain(linear, linear.X[:16])
    assert np.abs(ex.attributions[:, 3:]).max() == 0.0
    assert np.abs(ex.attributions[:, :3]).min() > 0.0


def _dropout_task(train: bool):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 2))
    X = np.random.default_rng(0).standard_normal((6, 8))
    task = xb.Task.from_torch(model, X, name="dropout")
    model.train(train)
    return task, model


def test_train_mode_model_runs_in_eval_and_is_restored():
    task, model = _dropout_task(train=True)
    model[1].eval()  # a mixed state must come back exactly as it was
    before = [m.training for m in model.modules()]
    ig = xb.get_explainer("captum.integrated_gradients")
    a, b = ig.explain(task, task.X), ig.explain(task, task.X)
    np.testing.assert_array_equal(a.attributions, b.attributions)  # dropout was off
    assert [m.training for m in model.modules()] == before
    gap = _target_gap(task, task.X, a.targets, task.removal_value())
    np.testing.assert_allclose(a.flat().sum(1), gap, atol=2e-3)


def test_model_mode_restored_after_an_error():
    task, model = _dropout_task(train=True)
    with pytest.raises(InvalidInputError):
        xb.get_explainer("captum.integrated_gradients", space="log").explain(task, task.X)
    assert model.training


def test_dtype_mismatch_is_cast_to_the_model_dtype(linear):
    X64 = linear.X[:8]
    ig = xb.get_explainer("captum.integrated_gradients")
    ref = ig.explain(linear, X64).attributions
    np.testing.assert_allclose(
        ig.explain(linear, X64.astype(np.float32)).attributions, ref, atol=1e-6
    )
    model64 = nn.Linear(8, 2).double()
    model64.load_state_dict({k: v.double() for k, v in linear.model.state_dict().items()})
    task64 = xb.Task.from_torch(model64, linear.X, background=linear.background)
    np.testing.assert_allclose(
        ig.explain(task64, X64.astype(np.float32)).attributions, ref, atol=1e-5
    )


def test_pandas_input_gives_the_same_result(linear):
    pd = pytest.importorskip("pandas")
    X = linear.X[:8]
    ig = xb.get_explainer("captum.integrated_gradients")
    np.testing.assert_allclose(
        ig.explain(linear, pd.DataFrame(X)).attributions, ig.explain(linear, X).attributions
    )


def test_gradient_method_on_a_non_differentiable_model_is_a_skip():
    gbt = xb.load_task("breast_cancer.gbt")
    with pytest.raises(IncompatibleError, match="needs a torch model"):
        xb.get_explainer("captum.integrated_gradients").explain(gbt, gbt.X[:2])

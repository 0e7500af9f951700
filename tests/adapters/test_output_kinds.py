"""Regressors and one-logit classifiers explained by every compatible explainer, with the
closed forms where they exist; explainers that cannot are skipped by their Capabilities."""

from __future__ import annotations

import numpy as np
import pytest

import xai_bench as xb
from xai_bench.explainer import check_compatible
from xai_bench.registry import BUILTIN_EXPLAINERS

W = np.array([3.0, -2.0, 1.0, 0.0, 0.0])
B = 0.5
# fast settings; the rest run at their defaults
FAST = {
    "shap.kernel": {"n_samples": 64},
    "shap.gradient": {"n_samples": 50},
    "lime.tabular": {"n_samples": 500},
    "captum.lime": {"n_samples": 64},
    "captum.kernel_shap": {"n_samples": 64},
}
TABULAR_EXPLAINERS = sorted(
    e
    for e in BUILTIN_EXPLAINERS
    if xb.Modality.TABULAR in xb.get_explainer(e).capabilities.modalities
)


def explainer(name: str, **kw):
    return xb.get_explainer(name, **{**FAST.get(name, {}), **kw})


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5))
    return X, X @ W + B


@pytest.fixture(scope="module")
def sk_linear(data):
    from sklearn.linear_model import LinearRegression

    X, y = data
    return xb.Task.from_sklearn(LinearRegression().fit(X, y), X, y, background=X)


@pytest.fixture(scope="module")
def torch_linear(data):
    import torch

    X, y = data
    layer = torch.nn.Linear(5, 1).double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(W[None]))
        layer.bias.fill_(B)
    return xb.Task.from_torch(layer, X, y, background=X, output="regression")


@pytest.fixture(scope="module")
def torch_mlp(data):
    import torch

    X, y = data
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    return xb.Task.from_torch(net, X, y, background=X, output="regression")


def _run(task, name, X):
    ex = explainer(name)
    reason = check_compatible(ex.capabilities, task, name)
    if reason:
        return None, reason
    try:
        return ex.explain(task, X), None
    except xb.IncompatibleError as exc:  # a run-time skip (shap.linear on an MLP)
        return None, str(exc)


# -- every compatible explainer explains the prediction ------------------------------------------
@pytest.mark.parametrize("name", TABULAR_EXPLAINERS)
def test_torch_regressor_explained_by_every_compatible_explainer(torch_mlp, name):
    task, X = torch_mlp, torch_mlp.X[:3]
    e, reason = _run(task, name, X)
    if e is None:  # sklearn-only explainers, shap.linear on an MLP, the oracle
        assert any(w in reason for w in ("scikit-learn", "linear model", "ground truth"))
        pytest.skip(reason)
    assert e.meta["output_space"] in ("prediction", "none")
    np.testing.assert_array_equal(e.targets, 0)
    assert (np.abs(e.attributions).max(1) > 1e-6).all()  # was: all zeros


def test_explainers_that_cannot_explain_a_regressor_are_skipped_by_capabilities():
    from types import SimpleNamespace

    for name in ("lime.image", "lime.text", "eli5.text", "shap.partition"):
        caps = xb.get_explainer(name).capabilities
        assert xb.explainer.Requirement.CLASSIFIER in caps.requires
    # what check_compatible reads of a text regression task with a tokenizer
    text_regressor = SimpleNamespace(
        modality=xb.Modality.TEXT, tokenizer=object(), is_regression=True
    )
    reason = check_compatible(xb.get_explainer("lime.text").capabilities, text_regressor, "x")
    assert reason == "x explains class probabilities, not a regressor's prediction"
    text_regressor.is_regression = False
    assert check_compatible(xb.get_explainer("lime.text").capabilities, text_regressor) is None


# -- closed forms on a linear regressor -----------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    ["shap.kernel", "shap.exact", "shap.permutation", "shap.linear", "captum.kernel_shap",
     "captum.shapley_value_sampling", "captum.feature_ablation"],
)  # fmt: skip
def test_sklearn_linear_regressor_interventional_shap_closed_form(sk_linear, name):
    X = sk_linear.X[:4]
    e = explainer(name).explain(sk_linear, X)
    mean = np.asarray(sk_linear.background).mean(0)  # the background mean is the baseline
    np.testing.assert_allclose(e.attributions, W * (X - mean), atol=1e-6)
    assert e.meta["output_space"] == "prediction"


def test_sklearn_linear_regressor_eli5_and_lime(sk_linear):
    X = sk_linear.X[:4]
    e = explainer("eli5.explain_prediction").explain(sk_linear, X)
    np.testing.assert_allclose(e.attributions, W * X, atol=1e-9)  # ELI5: w * x, bias apart
    np.testing.assert_allclose(e.meta["base_values"], B, atol=1e-9)
    lime = explainer("lime.tabular", discretize_continuous=False, n_samples=2000).explain(
        sk_linear, X
    )
    # LIME regresses the prediction on standardised features: coefficient w * std
    std = np.asarray(sk_linear.background).std(0)
    np.testing.assert_allclose(lime.attributions, np.broadcast_to(W * std, X.shape), atol=0.02)
    assert lime.meta["output_space"] == "prediction"
    np.testing.assert_allclose(lime.meta["surrogate_r2"], 1.0, atol=1e-3)


@pytest.mark.parametrize(
    "name", ["captum.integrated_gradients", "captum.deeplift", "captum.feature_ablation"]
)
@pytest.mark.parametrize("space", ["probability", "logit"])
def test_torch_linear_regressor_ig_and_ablation_closed_form(torch_linear, name, space):
    X = torch_linear.X[:4]
    base = np.asarray(torch_linear.background).mean(0)
    params = {"space": space} if "gradients" in name or "deeplift" in name else {}
    if name == "captum.feature_ablation" and space == "logit":
        pytest.skip("black box: no space")
    e = explainer(name, **params).explain(torch_linear, X)
    np.testing.assert_allclose(e.attributions, W * (X - base), atol=1e-8)  # IG = w (x - b)
    assert e.meta["output_space"] == "prediction"


def test_torch_linear_regressor_gradients_and_shap(torch_linear):
    X = torch_linear.X[:4]
    mean = np.asarray(torch_linear.background).mean(0)
    sal = explainer("captum.saliency").explain(torch_linear, X)
    np.testing.assert_allclose(sal.attributions, np.broadcast_to(np.abs(W), X.shape))
    ixg = explainer("captum.input_x_gradient").explain(torch_linear, X)
    np.testing.assert_allclose(ixg.attributions, W * X, atol=1e-12)
    for name in ("shap.deep", "shap.linear"):
        e = explainer(name).explain(torch_linear, X)
        np.testing.assert_allclose(e.attributions, W * (X - mean), atol=1e-8)
        assert e.meta["output_space"] == "prediction"


def test_torch_mlp_regressor_completeness(torch_mlp):
    """DeepLift's attributions add up to f(x) - f(baseline) on the raw prediction."""
    X = torch_mlp.X[:4]
    e = explainer("captum.deeplift").explain(torch_mlp, X)
    f = torch_mlp.predict(X)[:, 0]
    f_base = torch_mlp.predict(np.asarray(torch_mlp.background).mean(0, keepdims=True))[0, 0]
    np.testing.assert_allclose(e.attributions.sum(1), f - f_base, atol=1e-5)
    s = explainer("shap.deep").explain(torch_mlp, X)
    np.testing.assert_allclose(s.attributions.sum(1) + s.meta["base_values"], f, atol=1e-4)


# -- tree regressor ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sk_tree(data):
    from sklearn.ensemble import GradientBoostingRegressor

    X, y = data
    model = GradientBoostingRegressor(n_estimators=20, max_depth=2, random_state=0).fit(X, y)
    return xb.Task.from_sklearn(model, X, y, background=X)


@pytest.mark.parametrize("name", ["shap.tree", "eli5.explain_prediction"])
def test_tree_regressor_attributions_add_up_to_the_prediction(sk_tree, name):
    X = sk_tree.X[:5]
    e = explainer(name).explain(sk_tree, X)
    np.testing.assert_allclose(
        e.attributions.sum(1) + e.meta["base_values"], sk_tree.predict(X)[:, 0], atol=1e-6
    )
    assert e.meta["output_space"] == "prediction"
    assert (np.abs(e.attributions[:, :3]).sum(1) > np.abs(e.attributions[:, 3:]).sum(1)).all()


def test_permutation_importance_on_a_regressor(sk_linear):
    e = explainer("eli5.permutation_importance").explain(sk_linear, sk_linear.X[:2])
    imp = e.attributions[0]
    # shuffling a column j adds about 2 w_j^2 var(x_j) to the squared change of the prediction
    assert imp[0] > imp[1] > imp[2] > 0 and np.abs(imp[3:]).max() < 1e-12


# -- a one-logit classifier trained with BCE ------------------------------------------------------
@pytest.fixture(scope="module")
def bce():
    import torch

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 5))
    y = (X @ W > 0).astype(np.float32)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    xt, yt = torch.tensor(X, dtype=torch.float32), torch.tensor(y)[:, None]
    for _ in range(100):
        opt.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(net(xt), yt).backward()
        opt.step()
    return xb.Task.from_torch(net, X, y, background=X, output="binary_logit")


@pytest.mark.parametrize("name", TABULAR_EXPLAINERS)
def test_one_logit_classifier_explained_by_every_compatible_explainer(bce, name):
    X = bce.X[:4]
    e, reason = _run(bce, name, X)
    if e is None:
        pytest.skip(reason)
    np.testing.assert_array_equal(e.targets, bce.predicted(X))
    assert set(e.targets) == {0, 1} or len(X) < 2  # both classes among the rows
    if name != "oracle":
        assert np.abs(e.attributions).max() > 1e-3  # was: all zeros
    m = xb.get_metric("deletion_auc", steps=5).score(bce, X, e)
    assert np.isfinite(m.scores).all() and (m.scores < 1.0).all()  # was: 1.0


def test_one_logit_logit_space_is_the_targets_log_odds(bce):
    """DeepLift in logit space: attributions add up to the target's log-odds change; the
    class-0 attributions are the class-1 ones negated. In probability space they add up
    to the change of the target's sigmoid probability."""
    import torch

    X = bce.X[:4]
    ig = explainer("captum.deeplift", space="logit")
    e1 = ig.explain(bce, X, targets=[1, 1, 1, 1])
    e0 = ig.explain(bce, X, targets=[0, 0, 0, 0])
    assert e1.meta["output_space"] == "log_odds"
    np.testing.assert_allclose(e0.attributions, -e1.attributions, atol=1e-6)
    base = np.asarray(bce.background).mean(0, keepdims=True)
    with torch.no_grad():
        z = bce.model(torch.tensor(np.vstack([X, base]), dtype=torch.float32))[:, 0].numpy()
    np.testing.assert_allclose(e1.attributions.sum(1), z[:4] - z[4], atol=1e-3)
    p = explainer("captum.deeplift").explain(bce, X, targets=[1, 0, 1, 0])
    probs = bce.predict(np.vstack([X, base]))
    want = probs[np.arange(4), [1, 0, 1, 0]] - probs[4, [1, 0, 1, 0]]
    np.testing.assert_allclose(p.attributions.sum(1), want, atol=1e-3)
    assert p.meta["output_space"] == "probability"


def test_one_logit_shap_deep_flips_for_class_zero(bce):
    X = bce.X[:4]
    e = explainer("shap.deep").explain(bce, X, targets=[1, 0, 1, 0])
    one = explainer("shap.deep").explain(bce, X, targets=[1, 1, 1, 1])
    np.testing.assert_allclose(e.attributions, one.attributions * [[1], [-1], [1], [-1]])
    assert e.meta["output_space"] == "log_odds"

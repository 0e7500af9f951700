"""SHAP adapters: closed forms, brute-force Shapley, efficiency, shapes and seeds."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import xai_bench as xb
from xai_bench.adapters.shap import select_target

pytest.importorskip("shap")


def brute_force_shapley(f, x, background, target):
    """Exact Shapley values with v(S) = mean over background b of f(x_S, b_rest)[target]."""
    d = len(x)
    subsets = list(itertools.product([0, 1], repeat=d))
    rows = []
    for s in subsets:
        m = np.array(s, dtype=bool)
        rows.append(np.where(m, x, background))
    values = f(np.concatenate(rows))[:, target].reshape(len(subsets), len(background)).mean(1)
    v = dict(zip(subsets, values, strict=True))
    phi = np.zeros(d)
    for s in subsets:
        k = sum(s)
        for j in range(d):
            if s[j]:
                continue
            with_j = s[:j] + (1,) + s[j + 1 :]
            w = math.factorial(k) * math.factorial(d - k - 1) / math.factorial(d)
            phi[j] += w * (v[with_j] - v[s])
    return phi


@pytest.fixture(scope="module")
def linear():
    return xb.load_task("synthetic.linear")


@pytest.fixture(scope="module")
def mlp():
    return xb.load_task("breast_cancer.mlp")


def test_kernel_equals_brute_force_shapley(linear):
    X = linear.X[:3]
    expl = xb.get_explainer("shap.kernel", max_background=256).explain(linear, X)
    assert expl.meta["background_summary"] == "none"
    assert expl.meta["n_coalitions"] == 2**8 - 2  # full enumeration: KernelSHAP is exact
    for i, x in enumerate(X):
        ref = brute_force_shapley(linear.predict, x, linear.background, expl.targets[i])
        np.testing.assert_allclose(expl.attributions[i], ref, atol=1e-6)
    # dummy features 3-7 get exactly zero
    np.testing.assert_allclose(expl.attributions[:, 3:], 0.0, atol=1e-9)


def test_kernel_efficiency_with_summarised_background(mlp):
    X = mlp.X[:3]
    expl = xb.get_explainer("shap.kernel", n_samples=300, max_background=20).explain(mlp, X)
    meta = expl.meta
    assert meta["background_summary"] == "kmeans" and meta["background_rows"] == 20
    assert meta["output_space"] == "probability"
    fx = mlp.predict(X)[np.arange(3), expl.targets]
    np.testing.assert_allclose(
        expl.attributions.sum(1), fx - np.asarray(meta["base_values"]), atol=1e-6
    )
    # base value is the weighted mean over the summary, which must be near the full mean
    full = mlp.predict(mlp.background)[:, expl.targets[0]].mean()
    assert abs(meta["base_values"][0] - full) < 0.05


def test_kernel_seeded(mlp):
    X = mlp.X[:2]
    a = xb.get_explainer("shap.kernel", n_samples=100, max_background=10, seed=1).explain(mlp, X)
    b = xb.get_explainer("shap.kernel", n_samples=100, max_background=10, seed=1).explain(mlp, X)
    c = xb.get_explainer("shap.kernel", n_samples=100, max_background=10, seed=2).explain(mlp, X)
    np.testing.assert_array_equal(a.attributions, b.attributions)
    assert not np.allclose(a.attributions, c.attributions)
    # per-row seeding: a row's explanation does not depend on its batch
    one = xb.get_explainer("shap.kernel", n_samples=100, max_background=10, seed=1)
    np.testing.assert_allclose(one.explain(mlp, X[1:2]).attributions[0], a.attributions[1])
    assert a.meta["seed"] == 1


@pytest.mark.parametrize(
    "layout",
    ["n_f_k", "n_f", "n_f_1", "list"],
)
def test_select_target_normalises_every_shap_layout(layout):
    rng = np.random.default_rng(0)
    v = rng.standard_normal((4, 5, 2))
    targets = np.array([0, 1, 1, 0])
    want = v[np.arange(4), :, targets]
    if layout == "n_f_k":
        got = select_target(v, targets, (5,))
    elif layout == "list":
        got = select_target([v[..., 0], v[..., 1]], targets, (5,))
    elif layout == "n_f_1":
        got, want = select_target(v[..., :1], targets, (5,)), v[..., 0]
    else:
        got, want = select_target(v[..., 1], targets, (5,)), v[..., 1]
    np.testing.assert_array_equal(got, want)
    with pytest.raises(xb.InvalidInputError, match="shape"):
        select_target(v[:, :3], targets, (5,))


def test_exact_equals_brute_force_shapley(linear):
    X = linear.X[:3]
    expl = xb.get_explainer("shap.exact", max_background=256).explain(linear, X)
    for i, x in enumerate(X):
        ref = brute_force_shapley(linear.predict, x, linear.background, expl.targets[i])
        np.testing.assert_allclose(expl.attributions[i], ref, atol=1e-6)


def test_exact_skips_wide_tasks(mlp):
    with pytest.raises(xb.IncompatibleError, match="2\\^30"):
        xb.get_explainer("shap.exact").explain(mlp, mlp.X[:1])


def test_permutation_close_to_brute_force_and_efficient(linear):
    X = linear.X[:3]
    expl = xb.get_explainer("shap.permutation", max_background=256, max_evals=400).explain(
        linear, X
    )
    fx = linear.predict(X)[np.arange(3), expl.targets]
    np.testing.assert_allclose(
        expl.attributions.sum(1), fx - np.asarray(expl.meta["base_values"]), atol=1e-6
    )
    for i, x in enumerate(X):
        ref = brute_force_shapley(linear.predict, x, linear.background, expl.targets[i])
        np.testing.assert_allclose(expl.attributions[i], ref, atol=0.01)


def test_linear_closed_form_on_torch_linear(linear):
    from xai_bench.tasks.tabular import SYNTHETIC_WEIGHTS

    X = linear.X[:5]
    expl = xb.get_explainer("shap.linear").explain(linear, X)
    assert expl.meta["output_space"] == "log_odds"
    sign = np.where(expl.targets == 1, 1.0, -1.0)[:, None]  # log-odds of class 0 = -class 1
    want = sign * SYNTHETIC_WEIGHTS * (X - linear.background.mean(0))
    np.testing.assert_allclose(expl.attributions, want, atol=1e-5)


def test_linear_closed_form_on_sklearn_logistic_regression():
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    binary = LogisticRegression().fit(X, y == 0)
    task = xb.Task.from_sklearn(binary, X[:20], background=X)
    expl = xb.get_explainer("shap.linear").explain(task, X[:4], targets=1)
    np.testing.assert_allclose(expl.attributions, binary.coef_[0] * (X[:4] - X.mean(0)), atol=1e-8)
    # three classes: each class's logit, w_t * (x - E x)
    multi = LogisticRegression().fit(X, y)
    task3 = xb.Task.from_sklearn(multi, X[:20], background=X)
    e3 = xb.get_explainer("shap.linear").explain(task3, X[:4])
    assert e3.meta["output_space"] == "logit"
    want = multi.coef_[e3.targets] * (X[:4] - X.mean(0))
    np.testing.assert_allclose(e3.attributions, want, atol=1e-8)


def test_tree_on_gradient_boosting_is_log_odds_and_additive():
    task = xb.load_task("breast_cancer.gbt")
    X = task.X[:6]
    expl = xb.get_explainer("shap.tree").explain(task, X)
    assert expl.meta["output_space"] == "log_odds"
    margin = task.model.decision_function(X)  # log-odds of class 1
    want = np.where(expl.targets == 1, margin, -margin)
    got = expl.attributions.sum(1) + np.asarray(expl.meta["base_values"])
    np.testing.assert_allclose(got, want, atol=1e-6)
    # probability space on request: sums to the predicted probability of the target
    prob = xb.get_explainer("shap.tree", model_output="probability").explain(task, X)
    assert prob.meta["output_space"] == "probability"
    got = prob.attributions.sum(1) + np.asarray(prob.meta["base_values"])
    np.testing.assert_allclose(got, task.predict(X)[np.arange(6), prob.targets], atol=1e-6)


def test_tree_on_random_forest_is_probability():
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier

    X, y = load_breast_cancer(return_X_y=True)
    rf = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(X, y)
    task = xb.Task.from_sklearn(rf, X[:10], background=X[:100])
    expl = xb.get_explainer("shap.tree").explain(task, X[:4], targets=0)
    assert expl.meta["output_space"] == "probability"
    got = expl.attributions.sum(1) + np.asarray(expl.meta["base_values"])
    np.testing.assert_allclose(got, rf.predict_proba(X[:4])[:, 0], atol=1e-6)


def test_tree_skips_non_tree_sklearn_model():
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(0).standard_normal((30, 3))
    task = xb.Task.from_sklearn(LogisticRegression().fit(X, X[:, 0] > 0), X)
    with pytest.raises(xb.IncompatibleError, match="tree"):
        xb.get_explainer("shap.tree").explain(task, X[:2])


def test_deep_summation_to_delta_and_linear_closed_form(linear, mlp):
    import torch

    X = linear.X[:4]
    expl = xb.get_explainer("shap.deep", max_background=256).explain(linear, X)
    assert expl.meta["output_space"] == "logit"
    w = linear.model.weight.detach().double().numpy()[expl.targets]
    np.testing.assert_allclose(expl.attributions, w * (X - linear.background.mean(0)), atol=1e-5)
    # on the MLP: attributions sum to logit(x) - mean logit(background)
    mlp.model.train()  # the adapter must not leave it changed
    e = xb.get_explainer("shap.deep", max_background=30).explain(mlp, mlp.X[:4])
    assert mlp.model.training
    mlp.model.eval()
    with torch.no_grad():
        logits = mlp.model(torch.tensor(mlp.X[:4], dtype=torch.float32)).double().numpy()
    delta = logits[np.arange(4), e.targets] - np.asarray(e.meta["base_values"])
    np.testing.assert_allclose(e.attributions.sum(1), delta, atol=1e-4)


def test_gradient_expected_gradients_on_linear_and_seeded(linear):
    X = linear.X[:4]
    a = xb.get_explainer("shap.gradient", n_samples=2000, max_background=256).explain(linear, X)
    w = linear.model.weight.detach().double().numpy()[a.targets]
    # the gradient is constant, so phi = w * (x - mean of the sampled references)
    np.testing.assert_allclose(a.attributions, w * (X - linear.background.mean(0)), atol=0.1)
    assert np.abs(a.attributions[:, 3:]).max() < 1e-6  # dummy features
    b = xb.get_explainer("shap.gradient", n_samples=50, seed=1).explain(linear, X)
    c = xb.get_explainer("shap.gradient", n_samples=50, seed=1).explain(linear, X)
    d = xb.get_explainer("shap.gradient", n_samples=50, seed=2).explain(linear, X)
    np.testing.assert_array_equal(b.attributions, c.attributions)
    assert not np.allclose(b.attributions, d.attributions)


@pytest.mark.parametrize("task_id", ["sentiment.tfidf", "sentiment.transformer"])
def test_partition_on_text_is_token_aligned_and_efficient(task_id):
    task = xb.load_task(task_id)
    X = task.X[:4]
    e = xb.get_explainer("shap.partition", max_evals=200).explain(task, X)
    valid = task.valid_mask(X)
    assert np.all(e.attributions[~valid] == 0)
    # Owen values are efficient: f(x) - f(every token masked)
    fx = task.predict(X)[np.arange(4), e.targets]
    np.testing.assert_allclose(
        e.attributions.sum(1), fx - np.asarray(e.meta["base_values"]), atol=1e-5
    )
    masked = np.where(valid, task.mask_token_id, task.pad_token_id)
    np.testing.assert_allclose(
        e.meta["base_values"], task.predict(masked)[np.arange(4), e.targets], atol=1e-6
    )
    top = np.where(valid, e.attributions, -np.inf).argmax(1)
    assert task.ground_truth[np.arange(4), top].all()


def test_deep_matches_model_dtype_and_keeps_it(linear):
    import copy
    import dataclasses

    model64 = copy.deepcopy(linear.model).double()
    task64 = dataclasses.replace(linear, model=model64)
    X = linear.X[:3]
    a = xb.get_explainer("shap.deep", max_background=64).explain(linear, X.astype(np.float32))
    b = xb.get_explainer("shap.deep", max_background=64).explain(task64, X)
    np.testing.assert_allclose(a.attributions, b.attributions, atol=1e-5)
    import torch

    assert next(model64.parameters()).dtype == torch.float64  # the adapter cast X, not the model


@pytest.mark.parametrize("name", ["shap.exact", "shap.kernel", "shap.permutation"])
def test_symmetry_swapping_two_features_swaps_their_attributions(linear, name):
    import copy
    import dataclasses

    import torch

    swap = [1, 0, 2, 3, 4, 5, 6, 7]
    model = copy.deepcopy(linear.model)
    with torch.no_grad():
        model.weight.copy_(model.weight[:, swap])
    swapped = dataclasses.replace(
        linear, X=linear.X[:, swap], background=linear.background[:, swap], model=model,
        predict_proba=xb.task.torch_scorer(model),
    )  # fmt: skip
    params = {"max_background": 256, "seed": 0}
    a = xb.get_explainer(name, **params).explain(linear, linear.X[:3])
    b = xb.get_explainer(name, **params).explain(swapped, swapped.X[:3])
    tol = 1e-6 if name != "shap.permutation" else 0.02  # permutations are sampled by position
    np.testing.assert_allclose(b.attributions, a.attributions[:, swap], atol=tol)


def test_kernel_sampled_coalitions_approach_brute_force(linear):
    # efficiency holds by construction for any sample size; closeness to the exact values
    # is what shows the sampling estimate is right
    X = linear.X[:3]
    errs = []
    for n in (40, 160):
        e = xb.get_explainer("shap.kernel", n_samples=n, max_background=256).explain(linear, X)
        ref = np.stack(
            [
                brute_force_shapley(linear.predict, x, linear.background, t)
                for x, t in zip(X, e.targets, strict=True)
            ]
        )
        errs.append(np.abs(e.attributions - ref).max())
    assert errs[1] < 0.01 and errs[1] <= errs[0]

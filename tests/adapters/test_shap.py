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

"""Model-parameter randomisation (Adebayo et al., 2018): cascading and independent."""

from __future__ import annotations

import numpy as np
import pytest

import xai_bench as xb
from xai_bench.metrics.randomisation import layers, model_randomisation, ssim


def _explain(task, name, n=12):
    X = task.X[:n]
    return X, xb.get_explainer(name).explain(task, X)


def test_cascade_reproduces_the_paper_on_a_trained_cnn(digits_task):
    """Plain gradients change far more than guided backprop as layers are randomised."""
    import torch

    before = {k: v.clone() for k, v in digits_task.model.state_dict().items()}
    X, sal = _explain(digits_task, "captum.saliency")
    _, gbp = _explain(digits_task, "captum.guided_backprop")
    rs = xb.get_metric("model_randomisation").score(digits_task, X, sal)
    rg = xb.get_metric("model_randomisation").score(digits_task, X, gbp)
    n_layers = len(layers(digits_task.model))
    assert n_layers == 4 and rs.curves.shape == (12, n_layers + 1)
    np.testing.assert_array_equal(rs.x, np.arange(n_layers + 1))
    s, g = np.nanmean(rs.curves, axis=0), np.nanmean(rg.curves, axis=0)
    assert s[0] == g[0] == 1.0
    # after the top layer alone (measured: saliency 0.24, guided backprop 0.55)
    assert g[1] - s[1] > 0.2
    assert (s[1:] < g[1:]).all()
    np.testing.assert_array_equal(rs.scores, rs.curves[:, -1])  # score = all layers
    assert rs.params["similarity"] == "Spearman of |phi|" and rs.params["mode"] == "cascading"
    assert rs.params["layers"] == ["Linear", "Linear", "Conv2d", "Conv2d"]
    after = digits_task.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights restored


def test_zero_inputs_inflate_the_all_feature_score(digits_task):
    """x = 0 gives input x gradient 0 under every model: ties that the non-zero score drops."""
    X, ixg = _explain(digits_task, "captum.input_x_gradient")
    res = model_randomisation(digits_task, X, ixg)
    allf, nz = np.nanmean(res.scores), np.nanmean(res.extra["score_nonzero"])
    assert allf > 0.8 and nz < 0.5 and allf - nz > 0.3  # measured 0.90 and 0.37
    # the non-zero score is the all-feature formula on the non-zero pixels only
    from scipy.stats import spearmanr

    keep = X[0].reshape(-1) != 0
    a, b = ixg.flat()[0][keep], res.extra["randomised_attributions"][0][keep]
    want = spearmanr(np.abs(a), np.abs(b)).statistic
    assert res.extra["score_nonzero"][0] == pytest.approx(want, abs=1e-12)


def test_independent_resets_one_layer_at_a_time(mlp_task):
    X, ig = _explain(mlp_task, "captum.integrated_gradients", 8)
    ind = model_randomisation(mlp_task, X, ig, mode="independent", order="signed")
    cas = model_randomisation(mlp_task, X, ig, mode="cascading", order="signed")
    assert ind.params["similarity"] == "Spearman of phi"
    np.testing.assert_allclose(ind.scores, np.nanmean(ind.curves[:, 1:], axis=1))
    # step 1 re-initialises the same top layer with the same seed in both modes
    np.testing.assert_allclose(ind.curves[:, 1], cas.curves[:, 1])
    assert not np.allclose(ind.curves[:, 2], cas.curves[:, 2])


def test_ssim_matches_skimage_and_is_recorded(digits_task):
    skm = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(0)
    a, b = rng.random((3, 8, 8)), rng.random((3, 8, 8))
    want = [skm.structural_similarity(x, y, data_range=1.0) for x, y in zip(a, b, strict=True)]
    np.testing.assert_allclose(ssim(a, b, data_range=1.0), want, rtol=1e-10)
    np.testing.assert_allclose(ssim(a, a, data_range=1.0), 1.0)
    X, sal = _explain(digits_task, "captum.saliency", 4)
    res = model_randomisation(digits_task, X, sal, method="ssim")
    assert res.params["similarity"] == "SSIM of |phi|" and "score_nonzero" not in res.extra
    assert (res.scores < 0.5).all()


def test_bad_options_fail_where_they_enter(mlp_task):
    X, ig = _explain(mlp_task, "captum.saliency", 2)
    with pytest.raises(xb.InvalidInputError, match="mode"):
        model_randomisation(mlp_task, X, ig, mode="sideways")
    with pytest.raises(xb.InvalidInputError, match="order"):
        model_randomisation(mlp_task, X, ig, order="abs2")
    with pytest.raises(xb.IncompatibleError, match="SSIM"):
        model_randomisation(mlp_task, X, ig, method="ssim")


def test_max_steps_coarsens_the_curve_not_the_score(digits_task):
    """Grouped cascade steps: fewer re-explanations, the same fully randomised model."""
    X, sal = _explain(digits_task, "captum.saliency", n=6)
    full = xb.get_metric("model_randomisation").score(digits_task, X, sal)
    two = xb.get_metric("model_randomisation", max_steps=2).score(digits_task, X, sal)
    np.testing.assert_array_equal(two.x, [0, 2, 4])  # layers randomised after each step
    np.testing.assert_array_equal(two.scores, full.scores)
    np.testing.assert_array_equal(two.curves[:, 1], full.curves[:, 2])  # top two layers
    assert two.params["max_steps"] == 2
    with pytest.raises(xb.errors.InvalidInputError, match="max_steps"):
        xb.get_metric("model_randomisation", max_steps=0)

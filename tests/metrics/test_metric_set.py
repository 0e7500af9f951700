"""The full metric set: sanity check, robustness, ground truth, agreement, and the metric rows
of RELIABILITY.md (degenerate, ties, recorded conventions, flat baseline, saturation, OOD)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
from _metric_toys import WEIGHTS, additive_task, explanation

import xai_bench as xb
from xai_bench import BaseExplainer, Capabilities, Modality
from xai_bench._rng import sample_rngs
from xai_bench.metrics.agreement import agreement_matrix, rowwise_corr
from xai_bench.metrics.base import MetricInfo
from xai_bench.metrics.groundtruth import precision_at_k
from xai_bench.metrics.perturb import rank_positions
from xai_bench.metrics.randomisation import model_randomisation
from xai_bench.metrics.robustness import sensitivity_max
from xai_bench.registry import BUILTIN_METRICS, unregister_explainer

PER_SAMPLE = [
    "deletion_auc", "insertion_auc", "lerf_auc", "abpc", "aopc", "comprehensiveness",
    "sufficiency", "ablation_spearman", "ablation_kendall", "faithfulness_correlation",
    "infidelity", "precision_at_k",
    "faithfulness_estimate", "monotonicity_nguyen", "monotonicity_arya", "region_perturbation",
    "selectivity", "sensitivity_n", "road",
]  # fmt: skip


class TimesInput(BaseExplainer):
    """phi = w * x for the additive toy task (exact for it)."""

    name: ClassVar[str] = "test.times_input"
    capabilities: ClassVar[Capabilities] = Capabilities(modalities=frozenset(Modality))

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def _attribute(self, task, X, targets, scorer):
        return self.scale * WEIGHTS * np.asarray(X)


@pytest.fixture
def times_input():
    """TimesInput registered for this test only (sensitivity_max re-explains by id)."""
    xb.register_explainer(TimesInput)
    yield TimesInput
    unregister_explainer(TimesInput.name)


def test_sensitivity_max_closed_form(times_input):
    X = np.array([[0.2, 0.5, 0.9], [0.6, 0.1, 0.3]])
    task = additive_task(X=X)
    ex = TimesInput().explain(task, X)
    res = sensitivity_max(task, X, ex, radius=0.05, n_samples=7, seed=3)
    # drawn per sample from (seed, the sample's content)
    noise = np.stack([r.uniform(-0.05, 0.05, size=(7, 3)) for r in sample_rngs(X, 3)], axis=1)
    diff = np.linalg.norm(WEIGHTS * noise, axis=2) / np.linalg.norm(WEIGHTS * X, axis=1)
    np.testing.assert_allclose(res.scores, diff.max(axis=0))
    raw = sensitivity_max(task, X, ex, radius=0.05, n_samples=7, seed=3, normalise=False)
    np.testing.assert_allclose(raw.scores, np.linalg.norm(WEIGHTS * noise, axis=2).max(0))


@pytest.mark.parametrize("explainer", ["random", "captum.integrated_gradients"])
def test_sensitivity_max_does_not_depend_on_batching(mlp_task, explainer):
    # the runner scores in chunks: a stored score must not depend on chunk_size
    X = mlp_task.X[:6]
    ex = xb.get_explainer(explainer).explain(mlp_task, X)
    m = xb.get_metric("sensitivity_max", n_samples=4)
    full = m.score(mlp_task, X, ex).scores
    single = [
        m.score(mlp_task, X[i : i + 1], ex.subset(slice(i, i + 1))).scores[0] for i in range(6)
    ]
    reordered = m.score(mlp_task, X[::-1], ex.subset(slice(None, None, -1))).scores[::-1]
    # float32 model: a batched forward pass rounds differently in its last bits
    np.testing.assert_allclose(full, single, rtol=1e-5)
    np.testing.assert_allclose(full, reordered, rtol=1e-5)
    assert np.ptp(full) > 0


def test_sensitivity_max_skips_explainers_that_cannot_reexplain(linear_task):
    X = linear_task.X[:4]
    oracle = xb.get_explainer("oracle").explain(linear_task, X)
    with pytest.raises(xb.IncompatibleError, match="re-explain"):
        xb.get_metric("sensitivity_max").score(linear_task, X, oracle)
    text = xb.load_task("sentiment.transformer")
    ex = xb.get_explainer("random").explain(text, text.X[:2])
    with pytest.raises(xb.IncompatibleError):
        xb.get_metric("sensitivity_max").score(text, text.X[:2], ex)


def test_model_randomisation_detects_a_changed_explanation(mlp_task):
    import torch

    X = mlp_task.X[:24]
    before = {k: v.clone() for k, v in mlp_task.model.state_dict().items()}
    ig = xb.get_explainer("captum.integrated_gradients").explain(mlp_task, X)
    res = xb.get_metric("model_randomisation").score(mlp_task, X, ig)
    # |IG| stays partly tied to |x| (Adebayo et al.), but clearly changes
    assert res.scores.mean() < 0.8 and not res.flags["unchanged"].any()
    after = mlp_task.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights restored
    np.testing.assert_allclose(
        xb.get_explainer("captum.integrated_gradients").explain(mlp_task, X).attributions,
        ig.attributions,
    )
    # a model-independent explainer fails the sanity check
    rnd = xb.get_explainer("random").explain(mlp_task, X)
    res = model_randomisation(mlp_task, X, rnd)
    np.testing.assert_allclose(res.scores, 1.0)
    assert res.flags["unchanged"].all()


def test_model_randomisation_needs_torch():
    gbt = xb.load_task("breast_cancer.gbt")
    ex = xb.get_explainer("random").explain(gbt, gbt.X[:3])
    with pytest.raises(xb.IncompatibleError, match="torch"):
        xb.get_metric("model_randomisation").score(gbt, gbt.X[:3], ex)


def test_precision_at_k_hand_computed_and_oracle(linear_task):
    X = linear_task.X[:32]
    oracle = xb.get_explainer("oracle").explain(linear_task, X)
    np.testing.assert_allclose(precision_at_k(linear_task, X, oracle).scores, 1.0)
    rnd = xb.get_explainer("random").explain(linear_task, X)
    assert precision_at_k(linear_task, X, rnd).mean < 0.7
    truth = np.zeros((1, 8), bool)
    truth[0, :2] = True
    import dataclasses

    task = dataclasses.replace(linear_task, X=X[:1], ground_truth=truth[0])
    ex = explanation([[0.9, -0.1, 0.8, 0, 0, 0, 0, 0]], 1)
    assert precision_at_k(task, X[:1], ex).scores[0] == 0.5  # top 2 by |phi| = {0, 2}
    assert precision_at_k(task, X[:1], ex, k=1).scores[0] == 1.0
    with pytest.raises(xb.IncompatibleError, match="ground truth"):
        precision_at_k(xb.load_task("breast_cancer.mlp"), X[:1], ex)


def test_rowwise_correlations_match_scipy():
    from scipy.stats import kendalltau, pearsonr, spearmanr

    rng = np.random.default_rng(0)
    a = rng.normal(size=(6, 9))
    b = a + rng.normal(size=(6, 9))
    a[0, :3] = a[0, 3]  # ties
    for method, ref in (("pearson", pearsonr), ("spearman", spearmanr), ("kendall", kendalltau)):
        ours = rowwise_corr(a, b, method)
        np.testing.assert_allclose(ours, [ref(a[i], b[i]).statistic for i in range(6)])
    mask = np.ones((6, 9), bool)
    mask[:, -2:] = False
    np.testing.assert_allclose(
        rowwise_corr(a, b, "spearman", mask),
        [spearmanr(a[i, :7], b[i, :7]).statistic for i in range(6)],
    )
    assert np.isnan(rowwise_corr(np.ones((1, 4)), b[:1, :4])[0])


@pytest.mark.parametrize("pairwise_max", [100, 4])  # sign-matrix blocks / scipy per row
def test_kendall_tau_b_equals_scipy_with_ties_and_masks(monkeypatch, pairwise_max):
    from scipy.stats import kendalltau

    from xai_bench.metrics import agreement

    monkeypatch.setattr(agreement, "KENDALL_PAIRWISE_MAX", pairwise_max)
    rng = np.random.default_rng(1)
    a = rng.integers(0, 4, size=(40, 12)).astype(float)  # many ties in both rows
    b = a + rng.integers(-2, 3, size=(40, 12))
    mask = rng.random((40, 12)) > 0.25
    mask[0] = [True, True] + [False] * 10  # two entries
    mask[1] = [True] + [False] * 11  # one entry: NaN
    a[2] = 3.0  # constant row: NaN
    a[3, ~mask[3]] = np.nan  # non-finite entries outside the mask are ignored
    ours = rowwise_corr(a, b, "kendall", mask)
    ref = []
    for i in range(40):
        ai, bi = a[i, mask[i]], b[i, mask[i]]
        ok = len(ai) > 1 and np.ptp(ai) > 0 and np.ptp(bi) > 0
        ref.append(kendalltau(ai, bi).statistic if ok else np.nan)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=0)
    assert np.isnan(ours[1]) and np.isnan(ours[2]) and np.isfinite(ours[3])


def test_agreement_matrix(mlp_task):
    X = mlp_task.X[:16]
    r1 = xb.get_explainer("random", seed=1).explain(mlp_task, X)
    neg = xb.Explanation(-r1.attributions, r1.targets, "neg")
    r2 = xb.get_explainer("random", seed=2).explain(mlp_task, X)
    m = agreement_matrix({"a": r1, "neg": neg, "b": r2})
    assert list(m.index) == ["a", "neg", "b"] and np.allclose(m.to_numpy(), m.to_numpy().T)
    assert m.loc["a", "neg"] == pytest.approx(-1.0) and np.allclose(np.diag(m), 1)
    assert abs(m.loc["a", "b"]) < 0.2
    assert agreement_matrix({"a": r1, "neg": neg}, order="abs").loc["a", "neg"] == pytest.approx(1)
    k = agreement_matrix({"a": r1, "b": r2}, method="kendall").loc["a", "b"]
    assert abs(k) < abs(m.loc["a", "b"]) + 0.1


# -- RELIABILITY.md, metric rows ---------------------------------------------------------


@pytest.mark.parametrize("value", [0.0, 0.3])
def test_all_zero_or_constant_attributions_are_flagged_by_every_metric(linear_task, value):
    X = linear_task.X[:16]
    ex = explanation(np.full(X.shape, value), linear_task.predicted(X))
    for name in PER_SAMPLE:
        res = xb.get_metric(name).score(linear_task, X, ex)
        assert res.flags["degenerate"].all(), name


def test_ties_use_one_seeded_ranking_shared_by_metrics(linear_task):
    X = linear_task.X[:16]
    tied = explanation(np.tile([1.0, 1.0, 1.0, 0, 0, 0, 0, 0], (16, 1)), linear_task.predicted(X))
    pos, _ = rank_positions(tied, order="abs", seed=5, X=X)
    assert len({tuple(p[:3]) for p in pos}) > 1  # ties among the top 3 differ per sample
    # precision@1 counts exactly the samples whose seeded ranking puts a true feature first
    p1 = precision_at_k(linear_task, X, tied, k=1, seed=5)
    np.testing.assert_allclose(p1.scores, 1.0)
    half = explanation(np.tile([1.0, 0, 0, 0, 0, 0, 0, 1.0], (16, 1)), linear_task.predicted(X))
    hp = precision_at_k(linear_task, X, half, k=1, seed=5).scores
    first = rank_positions(half, order="abs", seed=5, X=X)[0][:, 0] == 0
    np.testing.assert_array_equal(hp == 1.0, first)


def test_every_metric_records_its_conventions(linear_task):
    X = linear_task.X[:8]
    ex = xb.get_explainer("random").explain(linear_task, X)
    for name in PER_SAMPLE:
        cls = type(xb.get_metric(name))
        assert isinstance(cls.info, MetricInfo) and cls.info.name == name and cls.info.reference
        res = xb.get_metric(name).score(linear_task, X, ex)
        assert res.scores.shape == (8,) and res.params, name
        lo, hi = cls.info.range
        finite = res.scores[np.isfinite(res.scores)]
        assert ((finite >= lo - 1e-9) & (finite <= hi + 1e-9)).all(), name
    curve = xb.get_metric("deletion_auc", baseline="zero", order="abs", space="log_odds").score(
        linear_task, X, ex
    )
    assert curve.params["baseline"] == "constant(value='zero')"
    assert curve.params["order"].startswith("abs") and curve.params["space"] == "log_odds"
    assert curve.params["target"].startswith("explanation.targets")


def test_log_odds_separates_saturated_probabilities():
    task = additive_task(X=np.array([[1.0, 1.0, 0.99995], [1.0, 1.0, 0.9995]]))
    ex = explanation([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]])
    p = xb.get_metric("deletion_auc", steps=3).score(task, task.X, ex)
    lo = xb.get_metric("deletion_auc", steps=3, space="log_odds").score(task, task.X, ex)
    assert abs(p.curves[0, 0] - p.curves[1, 0]) < 1e-3
    assert abs(lo.curves[0, 0] - lo.curves[1, 0]) > 1.0


def test_out_of_distribution_baseline_can_be_replaced_by_imputation(mlp_task):
    X = mlp_task.X[:12]
    ex = xb.get_explainer("random").explain(mlp_task, X)
    const = xb.get_metric("deletion_auc", steps=5, baseline=-10.0).score(mlp_task, X, ex)
    imp = xb.get_metric("deletion_auc", steps=5, baseline="impute").score(mlp_task, X, ex)
    assert const.params["baseline"] != imp.params["baseline"]
    assert not np.allclose(const.curves, imp.curves)


def test_same_seed_twice_gives_identical_scores(mlp_task):
    X = mlp_task.X[:10]
    ex = xb.get_explainer("random").explain(mlp_task, X)
    for name in ("faithfulness_correlation", "infidelity", "deletion_auc"):
        a = xb.get_metric(name, seed=2).score(mlp_task, X, ex).scores
        b = xb.get_metric(name, seed=2).score(mlp_task, X, ex).scores
        np.testing.assert_array_equal(a, b)
    two = xb.get_metric("infidelity", seed=2).score(mlp_task, X, ex).scores
    three = xb.get_metric("infidelity", seed=3).score(mlp_task, X, ex).scores
    assert not np.array_equal(two, three)


MODALITY_TASKS = ["synthetic.linear", "digits.cnn", "sentiment.transformer", "generation.tiny_gpt"]


@pytest.mark.parametrize("task_id", MODALITY_TASKS)
def test_every_metric_runs_on_every_modality_it_declares(task_id):
    task = xb.load_task(task_id)
    X = task.X[:4]
    ex = xb.get_explainer("random").explain(task, X)
    # built-ins only: other test modules register toy plugin metrics in-process
    for name in sorted(BUILTIN_METRICS):
        metric = xb.get_metric(name)
        needs_truth = metric.info.family == "localisation" and task.ground_truth is None
        fixed_size = name == "focus"  # digits.cnn cannot classify 16x16 mosaics
        if task.modality not in metric.info.modalities or (needs_truth and not fixed_size):
            with pytest.raises(xb.IncompatibleError):
                metric.score(task, X, ex)
            continue
        if fixed_size:
            with pytest.raises(xb.IncompatibleError, match="mosaics"):
                metric.score(task, X, ex)
            continue
        if name == "relative_representation_stability" and task_id == "synthetic.linear":
            with pytest.raises(xb.IncompatibleError, match="no internal representation"):
                metric.score(task, X, ex)  # one nn.Linear: nothing between input and output
            continue
        res = metric.score(task, X, ex)
        assert res.scores.shape == (4,), (name, task_id)
        no_truth = metric.info.family == "localisation"  # e.g. no evidence token in X[:4]
        assert np.isfinite(res.scores).any() or no_truth, (name, task_id)


def test_random_subset_metrics_do_not_depend_on_batching(mlp_task):
    X = mlp_task.X[:6]
    ex = xb.get_explainer("random").explain(mlp_task, X)
    for name in ("faithfulness_correlation", "infidelity"):
        m = xb.get_metric(name, n_runs=20) if name != "infidelity" else xb.get_metric(name)
        full = m.score(mlp_task, X, ex).scores
        single = [
            m.score(mlp_task, X[i : i + 1], ex.subset(slice(i, i + 1))).scores[0] for i in range(6)
        ]
        np.testing.assert_allclose(full, single, rtol=1e-10, atol=1e-12)

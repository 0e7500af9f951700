"""Deletion / insertion / LeRF / ABPC / AOPC: closed forms, invariants, conventions."""

from __future__ import annotations

import numpy as np
import pytest
from _metric_toys import additive_task, explanation

import xai_bench as xb
from xai_bench.metrics.deletion import abpc, aopc, curve, deletion_auc, insertion_auc
from xai_bench.metrics.perturb import rank_positions
from xai_bench.task import CountingScorer


def test_hand_computed_deletion_and_insertion_auc():
    task = additive_task()
    ex = explanation([[0.5, 0.3, 0.2]])
    d = deletion_auc(task, task.X, ex)
    # y = 1, .5, .2, 0 at x = 0, 1/3, 2/3, 1
    np.testing.assert_allclose(d.curves, [[1.0, 0.5, 0.2, 0.0]])
    np.testing.assert_allclose(d.x, [0, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(d.scores, [(0.75 + 0.35 + 0.1) / 3])
    i = insertion_auc(task, task.X, ex)
    np.testing.assert_allclose(i.curves, [[0.0, 0.5, 0.8, 1.0]])
    np.testing.assert_allclose(i.scores, [(0.25 + 0.65 + 0.9) / 3])


def test_reversed_ranking_is_worse_and_lerf_abpc_aopc_closed_forms():
    task = additive_task()
    good, bad = explanation([[0.5, 0.3, 0.2]]), explanation([[0.2, 0.3, 0.5]])
    assert deletion_auc(task, task.X, bad).scores[0] > deletion_auc(task, task.X, good).scores[0]
    # LeRF of the good ranking = deletion of the reversed ranking: y = 1, .8, .5, 0
    lerf = curve(task, task.X, good, kind="lerf")
    np.testing.assert_allclose(lerf.curves, [[1.0, 0.8, 0.5, 0.0]])
    ab = abpc(task, task.X, good)
    np.testing.assert_allclose(ab.scores, [(0.9 + 0.65 + 0.25 - 0.75 - 0.35 - 0.1) / 3])
    ao = aopc(task, task.X, good)
    np.testing.assert_allclose(ao.scores, [(0 + 0.5 + 0.8 + 1.0) / 4])


def test_steps_grid_rounds_half_up_and_log_odds_space():
    task = additive_task(X=np.ones((1, 4)), weights=np.full(4, 0.25))
    ex = explanation([[4.0, 3.0, 2.0, 1.0]])
    r = deletion_auc(task, task.X, ex, steps=8)
    # counts round(k/8 * 4) half up = 0,1,1,2,2,3,3,4,4 -> y = 1 - count/4
    np.testing.assert_allclose(r.curves[0], 1 - np.array([0, 1, 1, 2, 2, 3, 3, 4, 4]) / 4)
    lo = deletion_auc(task, task.X, ex, steps=2, space="log_odds")
    p = np.clip([1.0, 0.5, 0.0], 1e-7, 1 - 1e-7)
    np.testing.assert_allclose(lo.curves[0], np.log(p / (1 - p)))
    assert lo.params["space"] == "log_odds"


def test_curve_starts_at_f_x_and_ends_at_f_baseline(mlp_task):
    X = mlp_task.X[:40]
    ex = xb.get_explainer("random", seed=3).explain(mlp_task, X)
    p = mlp_task.predict(X)[np.arange(40), ex.targets]
    base = np.tile(mlp_task.removal_value(), (40, 1))
    pb = mlp_task.predict(base)[np.arange(40), ex.targets]
    d = xb.get_metric("deletion_auc", steps=10).score(mlp_task, X, ex)
    np.testing.assert_allclose(d.curves[:, 0], p, atol=1e-12)
    np.testing.assert_allclose(d.curves[:, -1], pb, atol=1e-12)
    ins = xb.get_metric("insertion_auc", steps=10).score(mlp_task, X, ex)
    np.testing.assert_allclose(ins.curves[:, 0], pb, atol=1e-12)
    np.testing.assert_allclose(ins.curves[:, -1], p, atol=1e-12)
    assert d.curves.shape == (40, 11) and np.all(np.diff(d.x) > 0) and d.x[-1] == 1.0


def test_all_zero_attributions_use_seeded_tie_break_and_are_flagged(linear_task):
    X = linear_task.X[:128]
    zero = explanation(np.zeros(X.shape), linear_task.predicted(X))
    a = rank_positions(zero, seed=0, X=X)[0]
    np.testing.assert_array_equal(a, rank_positions(zero, seed=0, X=X)[0])
    assert (a != rank_positions(zero, seed=1, X=X)[0]).any()
    # not column order, and different samples get different permutations
    assert (a != np.arange(8)).any(axis=1).mean() > 0.9
    assert len({tuple(r) for r in a}) > 100
    res = deletion_auc(linear_task, X, zero)
    assert res.flags["degenerate"].all()
    # column order would put the 3 evidence features first and look like the oracle
    oracle = deletion_auc(linear_task, X, xb.get_explainer("oracle").explain(linear_task, X))
    rand = deletion_auc(linear_task, X, xb.get_explainer("random").explain(linear_task, X))
    assert abs(res.mean - rand.mean) < abs(res.mean - oracle.mean)


def test_oracle_beats_random_on_ground_truth_task(linear_task):
    X = linear_task.X
    oracle = xb.get_explainer("oracle").explain(linear_task, X)
    rand = xb.get_explainer("random").explain(linear_task, X)
    for metric, better in (("deletion_auc", np.less), ("insertion_auc", np.greater)):
        m = xb.get_metric(metric)
        assert better(m.score(linear_task, X, oracle).mean, m.score(linear_task, X, rand).mean)


def test_random_attributions_score_like_another_random_control(mlp_task):
    X = mlp_task.X
    a = deletion_auc(mlp_task, X, xb.get_explainer("random", seed=1).explain(mlp_task, X))
    b = deletion_auc(mlp_task, X, xb.get_explainer("random", seed=2).explain(mlp_task, X))
    se = np.sqrt((a.scores.var() + b.scores.var()) / len(X))
    assert abs(a.mean - b.mean) < 4 * se


def test_batched_equals_one_at_a_time_and_chunking(mlp_task):
    X = mlp_task.X[:12]
    zero = explanation(np.zeros(X.shape), mlp_task.predicted(X))
    for ex in (xb.get_explainer("random").explain(mlp_task, X), zero):
        full = deletion_auc(mlp_task, X, ex, steps=7)
        single = [
            deletion_auc(mlp_task, X[i : i + 1], ex.subset(slice(i, i + 1)), steps=7)
            for i in range(12)
        ]
        np.testing.assert_allclose(full.curves, np.vstack([s.curves for s in single]), atol=1e-12)


def test_few_large_model_calls(mlp_task, monkeypatch):
    X = mlp_task.X[:64]
    ex = xb.get_explainer("random").explain(mlp_task, X)
    counter = CountingScorer(mlp_task.predict)
    r = curve(mlp_task, X, ex, steps=31, predict=counter)
    assert counter.calls == 1 and counter.rows <= 64 * 32
    small = CountingScorer(mlp_task.predict)
    import xai_bench.metrics.perturb as perturb

    monkeypatch.setattr(perturb, "MAX_CHUNK_BYTES", 64 * 30 * 13 * 8)
    r2 = curve(mlp_task, X, ex, steps=31, predict=small)
    assert small.calls > 1
    np.testing.assert_allclose(r.curves, r2.curves, atol=1e-12)


def test_float32_and_float64_inputs_agree(mlp_task):
    X = mlp_task.X[:32]
    ex = xb.get_explainer("random").explain(mlp_task, X)
    a = deletion_auc(mlp_task, X.astype(np.float64), ex, steps=10)
    b = deletion_auc(mlp_task, X.astype(np.float32), ex, steps=10)
    np.testing.assert_allclose(a.curves, b.curves, atol=1e-6)


def test_flat_baseline_flag_and_recorded_conventions():
    task = additive_task(X=np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.01]]))
    ex = explanation([[0.5, 0.3, 0.2], [0.1, 0.2, 0.3]])
    r = xb.get_metric("deletion_auc").score(task, task.X, ex)
    np.testing.assert_array_equal(r.flags["flat_baseline"], [False, True])
    np.testing.assert_array_equal(r.flags["degenerate"], [False, False])
    for key in ("target", "order", "baseline", "space", "steps", "auc", "x", "seed"):
        assert key in r.params
    assert r.params["auc"] == "trapezoid over x in [0, 1]"


def test_baselines_mean_min_zero_number(mlp_task):
    X = mlp_task.X[:8]
    ex = xb.get_explainer("random").explain(mlp_task, X)
    t = ex.targets
    ends = {}
    for b in ("mean", "min", "zero", 0.5):
        ends[b] = deletion_auc(mlp_task, X, ex, steps=3, baseline=b).curves[:, -1]
    mean = np.tile(mlp_task.background.mean(0), (8, 1))
    np.testing.assert_allclose(ends["mean"], mlp_task.predict(mean)[np.arange(8), t])
    mins = np.repeat(X.min(1, keepdims=True), 30, axis=1)
    np.testing.assert_allclose(ends["min"], mlp_task.predict(mins)[np.arange(8), t])
    np.testing.assert_allclose(ends["zero"], mlp_task.predict(0 * X)[np.arange(8), t])
    np.testing.assert_allclose(ends[0.5], mlp_task.predict(0 * X + 0.5)[np.arange(8), t])
    with pytest.raises(xb.InvalidInputError, match="baseline='nope'"):
        deletion_auc(mlp_task, X, ex, baseline="nope")


def test_order_abs_ranks_negative_evidence_first():
    task = additive_task()
    ex = explanation([[0.1, -0.9, 0.2]])
    signed = rank_positions(ex, order="signed")[0][0]
    absolute = rank_positions(ex, order="abs")[0][0]
    np.testing.assert_array_equal(signed, [1, 2, 0])
    np.testing.assert_array_equal(absolute, [2, 0, 1])
    with pytest.raises(xb.InvalidInputError):
        deletion_auc(task, task.X, ex, order="up")


def test_mismatched_inputs_are_rejected(mlp_task):
    ex = xb.get_explainer("random").explain(mlp_task, mlp_task.X[:4])
    with pytest.raises(xb.InvalidInputError, match="same rows"):
        deletion_auc(mlp_task, mlp_task.X[:5], ex)


def test_lerf_is_the_mirrored_insertion_curve(mlp_task):
    X = mlp_task.X[:16]
    ex = xb.get_explainer("random").explain(mlp_task, X)
    lerf = curve(mlp_task, X, ex, kind="lerf")
    ins = curve(mlp_task, X, ex, kind="insertion")
    np.testing.assert_allclose(lerf.curves, ins.curves[:, ::-1], atol=1e-12)
    np.testing.assert_allclose(lerf.scores, ins.scores, atol=1e-12)
    ab = abpc(mlp_task, X, ex)
    np.testing.assert_allclose(ab.scores, ins.scores - deletion_auc(mlp_task, X, ex).scores)

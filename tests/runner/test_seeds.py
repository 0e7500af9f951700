"""Seeds: the same seed twice is identical; another seed moves only stochastic explainers."""

from __future__ import annotations

import numpy as np
import pytest

import xai_bench as xb

EXPLAINERS = [("lime.tabular", {"n_samples": 200}), "captum.integrated_gradients", "oracle"]
STOCHASTIC = {"lime.tabular", "random"}


def run(seed):
    bench = xb.Benchmark(
        ["synthetic.linear"],
        EXPLAINERS,
        [("deletion_auc", {"steps": 4})],
        n_samples=6,
        seed=seed,
        chunk_size=3,
        progress=False,
    )
    return bench.run(backend="processes")


@pytest.fixture(scope="module")
def runs():
    return run(0), run(0), run(1)


def scores(res, explainer):
    return res.scores.query("explainer == @explainer").sort_values("sample")["score"].to_numpy()


def test_same_seed_twice_is_identical(runs):
    a, b, _ = runs
    assert len(a.scores) == 4 * 6
    for e in ["lime.tabular", "captum.integrated_gradients", "oracle", "random"]:
        np.testing.assert_array_equal(scores(a, e), scores(b, e))
        np.testing.assert_array_equal(
            a.attributions[("synthetic.linear", e, 0)].attributions,
            b.attributions[("synthetic.linear", e, 0)].attributions,
        )


def test_another_seed_changes_only_stochastic_explainers(runs):
    a, _, c = runs
    for e in ["lime.tabular", "captum.integrated_gradients", "oracle", "random"]:
        x = a.attributions[("synthetic.linear", e, 0)].attributions
        y = c.attributions[("synthetic.linear", e, 1)].attributions
        if e in STOCHASTIC:
            assert not np.array_equal(x, y), e
        else:
            np.testing.assert_array_equal(x, y)
            np.testing.assert_array_equal(scores(a, e), scores(c, e))
    assert not np.array_equal(scores(a, "random"), scores(c, "random"))


def test_chunks_of_one_seed_get_distinct_seeds(runs):
    a, _, _ = runs
    rnd = a.attributions[("synthetic.linear", "random", 0)].attributions
    # chunk 0 (rows 0-2) and chunk 1 (rows 3-5) must not share their random draws
    assert not np.allclose(rnd[:3], rnd[3:])


def test_seed_list_runs_every_seed_and_reports_rank_stability():
    bench = xb.Benchmark(
        ["synthetic.linear"],
        ["oracle"],
        [("deletion_auc", {"steps": 4})],
        n_samples=6,
        seed=[0, 1, 2],
        progress=False,
    )
    res = bench.run(backend="local")
    assert sorted(res.scores["seed"].unique()) == [0, 1, 2]
    summary = res.summary().set_index("explainer")
    # with 6 samples the oracle beats random under every seed: the order holds
    assert summary.loc["oracle", "rank_stability_seeds"] == pytest.approx(1.0)
    assert summary.loc["oracle", "rank_sd_seeds"] == 0.0

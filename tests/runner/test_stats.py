"""Statistics: Holm, Wilcoxon, ranks, relative-to-random, stability, cost."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wilcoxon

from xai_bench.runner.results import Results
from xai_bench.runner.stats import bootstrap_ci, holm, paired_wilcoxon, rank_stability


def make(scores_by_explainer, metric="m", higher=True, seeds=(0,), metric_id=None):
    rows = []
    for seed in seeds:
        for e, values in scores_by_explainer.items():
            vals = values(seed) if callable(values) else values
            rows += [
                {
                    "task": "t",
                    "explainer": e,
                    "metric": metric,
                    "sample": i,
                    "seed": seed,
                    "score": float(v),
                }
                for i, v in enumerate(vals)
            ]
    info = {metric: {"higher_is_better": higher, "id": metric_id or metric}}
    return Results(scores=pd.DataFrame(rows), metric_info=info)


def test_holm_matches_hand_computation():
    adj = holm(np.array([0.01, 0.04, 0.03, 0.005, np.nan]))
    np.testing.assert_allclose(adj[:4], [0.03, 0.06, 0.06, 0.02])
    assert np.isnan(adj[4])
    assert np.all(holm(np.array([0.9, 0.8])) == 1.0)


def test_paired_wilcoxon_is_scipys_and_handles_ties():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=15), rng.normal(size=15)
    assert paired_wilcoxon(a, b) == pytest.approx(wilcoxon(a - b).pvalue)
    assert paired_wilcoxon(a, a) == 1.0
    assert np.isnan(paired_wilcoxon(np.array([np.nan]), np.array([1.0])))


def test_bootstrap_ci_brackets_the_mean():
    v = np.random.default_rng(1).normal(3.0, 1.0, size=200)
    lo, hi = bootstrap_ci(v)
    assert lo < v.mean() < hi and hi - lo < 0.4
    assert bootstrap_ci(np.array([2.0])) == (2.0, 2.0)


def test_summary_columns_tests_and_ranks():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.4, 0.6, size=20)
    res = make(
        {
            "good": base - 0.3 - rng.uniform(0, 0.05, 20),  # lower is better: clearly best
            "meh": base + rng.normal(0, 0.01, 20),  # indistinguishable from random
            "random": base,
        },
        higher=False,
    )
    res.explanations = pd.DataFrame(
        {
            "task": "t",
            "explainer": ["good"] * 2,
            "sample": [0, 1],
            "seed": 0,
            "seconds": [0.5, 1.5],
            "model_calls": [10.0, 30.0],
            "degenerate": False,
        }
    )
    s = res.summary().set_index("explainer")
    for col in [
        "n",
        "mean",
        "median",
        "ci_low",
        "ci_high",
        "mean_rank",
        "p_vs_best",
        "p_vs_random",
        "significant_vs_best",
        "significant_vs_random",
        "rel_random",
        "seconds_per_explanation",
        "model_calls_per_explanation",
        "higher_is_better",
    ]:
        assert col in s.columns
    assert s.loc["good", "mean_rank"] == 1.0
    assert s.loc["good", "significant_vs_random"]
    assert not s.loc["meh", "significant_vs_random"]
    assert s.loc["meh", "significant_vs_best"] and s.loc["random", "significant_vs_best"]
    assert np.isnan(s.loc["good", "p_vs_best"]) and np.isnan(s.loc["random", "p_vs_random"])
    # Holm over the two comparisons against the best: p_adj = 2 * min p, then monotone
    raw = sorted(
        [
            wilcoxon(
                res.scores.query("explainer == @e")["score"].to_numpy()
                - res.scores.query("explainer == 'good'")["score"].to_numpy()
            ).pvalue
            for e in ["meh", "random"]
        ]
    )
    assert sorted(s[["p_vs_best"]].dropna()["p_vs_best"]) == pytest.approx(
        [min(1, 2 * raw[0]), min(1, max(2 * raw[0], raw[1]))]
    )
    # positive rel_random = better than random, whatever the direction
    assert s.loc["good", "rel_random"] == pytest.approx(
        s.loc["random", "mean"] - s.loc["good", "mean"]
    )
    assert s.loc["good", "rel_random"] > 0.29 and s.loc["random", "rel_random"] == 0
    assert s.loc["good", "seconds_per_explanation"] == 1.0
    assert s.loc["good", "model_calls_per_explanation"] == 20.0
    assert not s.loc["good", "higher_is_better"]


def test_rank_stability_across_seeds_and_metric_variants():
    same = make(
        {"a": lambda s: [0.9, 0.8], "b": lambda s: [0.5, 0.4], "random": lambda s: [0.1, 0.2]},
        seeds=(0, 1, 2),
    )
    s = same.summary().set_index("explainer")
    assert s.loc["a", "rank_stability_seeds"] == pytest.approx(1.0)
    assert s.loc["a", "rank_sd_seeds"] == 0.0
    flip = make(
        {
            "a": lambda s: [0.9 if s == 0 else 0.1] * 2,
            "random": lambda s: [0.1 if s == 0 else 0.9] * 2,
        },
        seeds=(0, 1),
    )
    assert flip.summary()["rank_stability_seeds"].iloc[0] == pytest.approx(-1.0)
    assert flip.summary().set_index("explainer").loc["a", "rank_sd_seeds"] == 0.5
    assert rank_stability(flip)["kendall_tau"].iloc[0] == pytest.approx(-1.0)
    assert flip.rank_stability().equals(rank_stability(flip))

    v1 = make({"a": [0.9, 0.8], "random": [0.1, 0.2]}, metric="del(zero)", metric_id="del")
    v2 = make({"a": [0.1, 0.2], "random": [0.9, 0.8]}, metric="del(mean)", metric_id="del")
    both = Results(
        scores=pd.concat([v1.scores, v2.scores]), metric_info={**v1.metric_info, **v2.metric_info}
    )
    out = rank_stability(both, across="metric")
    assert out.to_dict("records") == [
        {"task": "t", "group": "del", "n_variants": 2, "kendall_tau": pytest.approx(-1.0)}
    ]


def test_empty_results_give_an_empty_summary():
    assert Results().summary().empty


def test_repeating_seeds_does_not_inflate_n_or_significance():
    # two deterministic explainers: identical scores under every seed. Five seeds must give
    # exactly the statistics of one seed, because the unit is the sample, not (sample, seed).
    rng = np.random.default_rng(3)
    a = rng.uniform(0.4, 0.6, size=8)
    b = a + rng.normal(0.01, 0.03, size=8)
    one = make({"a": a, "b": b}, seeds=(0,)).summary().set_index("explainer")
    five = make({"a": a, "b": b}, seeds=range(5)).summary().set_index("explainer")
    assert five.loc["a", "n"] == 8
    for col in ["mean", "ci_low", "ci_high", "p_vs_best", "mean_rank"]:
        np.testing.assert_allclose(five[col].to_numpy(float), one[col].to_numpy(float))

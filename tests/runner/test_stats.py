"""Statistics: Holm, Wilcoxon, ranks, relative-to-random, stability, cost."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wilcoxon

from xai_bench.runner.results import Results
from xai_bench.runner.stats import (
    bootstrap_ci,
    decide,
    decision_rule,
    holm,
    n_needed,
    p_floor,
    paired_wilcoxon,
    rank_stability,
)


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


# -- statistics that know their limits ----------------------------------------------------
def _ladder(n, k, seed=0):
    """``k`` methods, each clearly better than ``random`` on every one of ``n`` samples
    (higher is better), the methods ordered with wide gaps."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.1, 0.2, size=n)
    out = {"random": base}
    for j in range(k):
        out[f"m{j}"] = base + 0.5 + 0.05 * j + rng.uniform(0, 0.001, size=n)
    return out


def test_n8_with_7_methods_is_inconclusive_not_a_failure():
    # the --quick preset: n = 8, 7 methods + random. 7 comparisons with random, so no
    # Holm-adjusted p can be below 7 * 2 / 2**8 = 0.0547 > 0.05
    s = make(_ladder(8, 7)).summary().set_index("explainer")
    methods = [f"m{j}" for j in range(7)]
    assert s.loc[methods, "p_floor_vs_random"].tolist() == pytest.approx([7 * 2 / 256] * 7)
    assert s.loc[methods, "p_vs_random"].tolist() == pytest.approx([7 * 2 / 256] * 7)
    assert (s.loc[methods, "vs_random"] == "inconclusive").all()  # never "n.s." / a failure
    assert not s["significant_vs_random"].any()
    # vs the best (m6): 7 comparisons again; all inconclusive, never "tied"
    assert (s.loc[methods[:-1], "verdict"] == "inconclusive").all()
    assert s.loc["m6", "verdict"] == "best" and s.loc["random", "verdict"] == "control"
    assert (s["outcome"] == "inconclusive").all() and not s["recommended"].any()
    # log2(2 * 7 / 0.05) = 8.13: nine pairs are the fewest that can reach alpha
    assert (s["n_needed"] == 9).all()
    # ... and with nine samples the same ladder is decided: 7 * 2 / 2**9 = 0.027
    s9 = make(_ladder(9, 7)).summary().set_index("explainer")
    assert (s9.loc[methods, "vs_random"] == "better").all()
    assert s9.loc["m6", "recommended"] and (s9["outcome"] == "win").all()
    # 7 comparisons with the best too (6 methods and random), all on one side
    assert s9.loc[methods[:-1], "p_vs_best"].max() == pytest.approx(7 * 2 / 2**9)


def test_n_needed_and_p_floor_closed_forms():
    assert p_floor(8, 7) == pytest.approx(0.0546875) and p_floor(0, 3) == 1.0
    assert [n_needed(m) for m in (1, 2, 4, 7, 20)] == [6, 7, 8, 9, 10]
    for m in (1, 2, 4, 7, 20):
        k = n_needed(m)
        assert p_floor(k, m) < 0.05 <= p_floor(k - 1, m)


def test_float_noise_below_the_resolution_is_a_tie():
    # the text run: eli5.text 0.9704926 against the best 0.9704933, on a [0, 1] metric;
    # lime.text has the same mean as eli5.text
    rng = np.random.default_rng(1)
    noise = rng.uniform(-3e-8, 3e-8, size=20)
    res = make(
        {
            "best": 0.9704933 + noise,
            "eli5.text": 0.9704926 + noise,
            "lime.text": 0.9704926 + noise[::-1],
            "random": rng.uniform(0.5, 0.9, size=20),
        }
    )
    res.metric_info["m"]["range"] = [0.0, 1.0]
    s = res.summary().set_index("explainer")
    assert s.loc["eli5.text", "p_vs_best"] == 1.0 and s.loc["eli5.text", "verdict"] == "tied"
    assert s.loc["lime.text", "verdict"] == "tied" and s.loc["best", "outcome"] == "tie"
    # equal means get equal treatment against random, and tie in the per-sample ranks
    assert s.loc["eli5.text", "vs_random"] == s.loc["lime.text", "vs_random"] == "better"
    assert s.loc["eli5.text", "mean_rank"] == s.loc["best", "mean_rank"] == 2.0
    # without the resolution the same numbers were "significantly worse"
    assert paired_wilcoxon(0.9704926 + noise, 0.9704933 + noise) < 1e-4
    # a difference of 10 resolutions is still a difference
    assert paired_wilcoxon(noise + 1e-5, noise, resolution=1e-6) < 1e-4


def test_flagged_samples_are_left_out_of_the_tests():
    # samples 0-5 are flagged flat_baseline: there "a" beats "b" by a lot; on the 10
    # unflagged ones a and b are equal up to symmetric noise
    rng = np.random.default_rng(2)
    b = rng.uniform(0.3, 0.6, size=16)
    a = b + np.r_[[0.3] * 6, np.tile([0.01, -0.01], 5)]
    res = make({"a": a, "b": b, "random": b - 0.2})
    res.scores["flat_baseline"] = res.scores["sample"] < 6
    s = res.summary().set_index("explainer")
    assert s.loc["b", "n"] == 16 and s.loc["b", "n_tested"] == 10
    pos = slice(6, None)
    assert s.loc["b", "p_vs_best"] == pytest.approx(min(1.0, 2 * wilcoxon(b[pos] - a[pos]).pvalue))
    assert s.loc["b", "verdict"] == "tied"
    # the means (descriptive) still use every sample
    assert s.loc["a", "mean"] == pytest.approx(a.mean())


def test_decide_is_the_one_rule_and_the_ci_never_decides():
    # digits, n = 8 with 9 explainers: saliency 0.467 [0.26, 0.69] against IG 0.049
    # [0.024, 0.075]. The CIs are apart, but with 8 comparisons the smallest adjusted p
    # is 8 * 2 / 256 = 0.0625: the verdict is inconclusive, not "not different"
    rng = np.random.default_rng(4)
    ig = rng.uniform(0.02, 0.08, size=8)
    others = {f"x{j}": ig + 0.2 + 0.01 * j for j in range(6)}
    res = make(
        {"ig": ig, "saliency": ig + 0.42, **others, "random": ig + 0.6},
        higher=False,
    )
    s = res.summary().set_index("explainer")
    assert s.loc["saliency", "ci_low"] > s.loc["ig", "ci_high"]
    assert s.loc["saliency", "p_floor_vs_best"] == pytest.approx(8 * 2 / 256)
    assert s.loc["saliency", "verdict"] == "inconclusive"
    assert "do not decide" in decision_rule()
    # the summary's decision columns are exactly decide() on its own rows
    again = decide(s.reset_index(), higher_is_better=False).set_index(s.index)
    pd.testing.assert_frame_equal(again, s[again.columns], check_dtype=False)


def test_badge_is_the_card_tie_is_never_recommended():
    # lime.text has the best mean but is not separated from captum.feature_ablation
    rng = np.random.default_rng(5)
    fa = rng.uniform(0.4, 0.6, size=30)
    noise = rng.normal(0, 0.05, size=30)
    lime = fa + noise - noise.mean() - 0.002  # lower is better: 0.002 ahead on average
    res = make({"lime.text": lime, "captum.feature_ablation": fa, "random": fa + 0.3}, higher=False)
    s = res.summary().set_index("explainer")
    assert s.loc["lime.text", "verdict"] == "best" and s.loc["lime.text", "outcome"] == "tie"
    assert s.loc["captum.feature_ablation", "p_vs_best"] > 0.05
    assert not s["recommended"].any()


def test_sanity_failures_are_in_the_summary():
    rows = {"ig": [0.2, 0.3, 0.25], "lime": [0.5, 0.6, 0.55], "random": [0.9, 0.8, 0.85]}
    faith = make(rows, metric="deletion_auc", higher=False)
    sanity = make(
        {"ig": [0.9] * 3, "lime": [0.1] * 3, "random": [1.0] * 3},
        metric="model_randomisation",
        higher=False,
    )
    res = Results(
        scores=pd.concat([faith.scores, sanity.scores]),
        metric_info={**faith.metric_info, **sanity.metric_info},
    )
    s = res.summary().set_index(["explainer", "metric"])
    assert s.loc[("ig", "deletion_auc"), "sanity"] == "fail"
    assert s.loc[("ig", "deletion_auc"), "sanity_failed"] == "model_randomisation"
    assert s.loc[("lime", "deletion_auc"), "sanity"] == "pass"
    assert s.loc[("random", "deletion_auc"), "sanity"] == ""  # ignores the model by design
    assert make(rows).summary()["sanity"].isin(["unchecked", ""]).all()
